import { ServerConnection } from '@jupyterlab/services';

import {
  errorMessage,
  isUnreachable,
  JobsAPI,
  JobsAPIError,
  listQuery,
  NO_FILTERS,
  requestAPI,
  ServerUnreachableError
} from '../api';

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

describe('requestAPI errors', () => {
  it('turns a 400 into a JobsAPIError naming the field', async () => {
    const { settings } = fakeServer(
      jsonResponse(400, {
        message: 'name must be at most 200 characters',
        reason: null,
        field: 'name'
      })
    );
    const error = await requestAPI('jobs', { method: 'POST' }, settings).catch(
      (e: unknown) => e
    );
    expect(error).toBeInstanceOf(JobsAPIError);
    const apiError = error as JobsAPIError;
    expect(apiError.status).toBe(400);
    expect(apiError.field).toBe('name');
    expect(apiError.message).toBe('name must be at most 200 characters');
    expect(errorMessage(apiError)).toBe('name must be at most 200 characters');
    expect(isUnreachable(apiError)).toBe(false);
  });

  it('keeps a plain-text error body as the message', async () => {
    const { settings } = fakeServer(
      new Response('Logs removed', { status: 410 })
    );
    const error = (await requestAPI('jobs/j1/logs', {}, settings).catch(
      (e: unknown) => e
    )) as JobsAPIError;
    expect(error.status).toBe(410);
    expect(error.message).toBe('Logs removed');
    expect(error.field).toBeNull();
  });

  it('survives an HTML error page from a proxy and calls a 502 unreachable', async () => {
    const { settings } = fakeServer(
      new Response('<html><body>' + 'x'.repeat(2000) + '</body></html>', {
        status: 502
      })
    );
    const error = await requestAPI('jobs', {}, settings).catch(
      (e: unknown) => e
    );
    expect(error).toBeInstanceOf(JobsAPIError);
    expect(isUnreachable(error)).toBe(true);
    expect(errorMessage(error)).toContain('Cannot reach the Jupyter server');
  });

  it('turns a failed fetch into a ServerUnreachableError', async () => {
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      fetch: async () => {
        throw new TypeError('Failed to fetch');
      }
    });
    const error = await requestAPI('jobs', {}, settings).catch(
      (e: unknown) => e
    );
    expect(error).toBeInstanceOf(ServerUnreachableError);
    expect(error).toBeInstanceOf(ServerConnection.NetworkError);
    expect(isUnreachable(error)).toBe(true);
    expect(errorMessage(error)).toContain('Cannot reach');
  });
});

describe('JobsAPI', () => {
  it('sends the list filters as query parameters', async () => {
    const { settings, requests } = fakeServer(
      jsonResponse(200, { jobs: [], next_cursor: null })
    );
    await new JobsAPI(settings).listJobs(
      {
        group: 'research',
        mine: true,
        statuses: ['Pending', 'Running'],
        q: ' a&b '
      },
      's42',
      25
    );
    const url = new URL(requests[0].url);
    expect(url.searchParams.get('group')).toBe('research');
    expect(url.searchParams.get('mine')).toBe('true');
    expect(url.searchParams.get('status')).toBe('Pending,Running');
    expect(url.searchParams.get('q')).toBe('a&b');
    expect(url.searchParams.get('cursor')).toBe('s42');
    expect(url.searchParams.get('limit')).toBe('25');
  });

  it('leaves empty filters out', () => {
    expect(listQuery(NO_FILTERS, null, 50)).toBe('limit=50');
  });

  it('reads a log chunk with its next offset, and 410 as gone', async () => {
    const ok = fakeServer(
      new Response('line 1\nline 2\n', {
        status: 200,
        headers: { 'X-Log-Offset': '14', 'X-Job-Status': 'Running' }
      })
    );
    const chunk = await new JobsAPI(ok.settings).readLogs('j1', { tail: 10 });
    expect(chunk).toEqual({
      text: 'line 1\nline 2\n',
      nextOffset: 14,
      status: 'Running'
    });
    expect(new URL(ok.requests[0].url).searchParams.get('tail')).toBe('10');

    const gone = fakeServer(
      jsonResponse(410, {
        message: 'The logs of job j1 were removed',
        reason: null
      })
    );
    const error = (await new JobsAPI(gone.settings)
      .readLogs('j1', {})
      .catch((e: unknown) => e)) as JobsAPIError;
    expect(error.status).toBe(410);
  });

  it('escapes job ids in paths', async () => {
    const { settings, requests } = fakeServer(jsonResponse(200, {}));
    await new JobsAPI(settings).getJob('a/b?c');
    expect(new URL(requests[0].url).pathname).toBe(
      '/base/jupyterlab-jobs/jobs/a%2Fb%3Fc'
    );
  });
});
