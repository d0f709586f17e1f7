import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../api';

/**
 * Server settings whose fetch answers every request with `response` and records
 * the requests it was given.
 */
function fakeServer(response: Response): {
  settings: ServerConnection.ISettings;
  requests: Request[];
} {
  const requests: Request[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/base/',
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push(new Request(input, init));
      return response;
    }
  });
  return { settings, requests };
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

describe('requestAPI', () => {
  it('requests the endpoint below the extension namespace and parses JSON', async () => {
    const { settings, requests } = fakeServer(
      jsonResponse(200, { jobs: [], next_cursor: null })
    );

    const data = await requestAPI<{ jobs: unknown[] }>(
      'jobs?mine=true',
      {},
      settings
    );

    expect(data).toEqual({ jobs: [], next_cursor: null });
    expect(requests).toHaveLength(1);
    // makeRequest may append a cache-busting parameter to GET URLs.
    const url = new URL(requests[0].url);
    expect(url.origin + url.pathname).toBe(
      'http://localhost:8888/base/jupyterlab-jobs/jobs'
    );
    expect(url.searchParams.get('mine')).toBe('true');
    expect(requests[0].method).toBe('GET');
  });

  it('sends the method and body it is given', async () => {
    const { settings, requests } = fakeServer(jsonResponse(201, { id: 'j1' }));

    await requestAPI(
      'jobs',
      { method: 'POST', body: '{"name":"n"}' },
      settings
    );

    expect(requests[0].method).toBe('POST');
    expect(await requests[0].text()).toBe('{"name":"n"}');
  });

  it("throws a ResponseError carrying the server's message", async () => {
    const { settings } = fakeServer(
      jsonResponse(409, {
        message: 'Job j1 is already Succeeded',
        reason: null
      })
    );

    const error = await requestAPI(
      'jobs/j1/cancel',
      { method: 'POST' },
      settings
    )
      .then(() => undefined)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ServerConnection.ResponseError);
    const responseError = error as ServerConnection.ResponseError;
    expect(responseError.message).toBe('Job j1 is already Succeeded');
    expect(responseError.response.status).toBe(409);
  });

  it('returns undefined for an empty body', async () => {
    const { settings } = fakeServer(new Response(null, { status: 204 }));

    await expect(requestAPI('jobs/j1', {}, settings)).resolves.toBeUndefined();
  });
});
