import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * The URL namespace of the jupyterlab-jobs server extension.
 */
export const API_NAMESPACE = 'jupyterlab-jobs';

/**
 * Call the jupyterlab-jobs REST API.
 *
 * @param endPoint Path below the API namespace, e.g. `jobs` or `jobs/42/cancel`.
 * @param init Request options (method, body, headers).
 * @param settings Server connection settings; the page's settings by default.
 * @returns The response body parsed as JSON (`undefined` for an empty body).
 * @throws ServerConnection.NetworkError when the server cannot be reached.
 * @throws ServerConnection.ResponseError for a non-2xx response, carrying the server's
 *   `message`.
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = undefined;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }

  if (!response.ok) {
    const message =
      data && typeof data === 'object' && typeof data.message === 'string'
        ? data.message
        : typeof data === 'string' && data.length > 0
          ? data
          : undefined;
    throw new ServerConnection.ResponseError(response, message);
  }

  return data as T;
}
