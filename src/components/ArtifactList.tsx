import { TranslationBundle } from '@jupyterlab/translation';
import { Button, downloadIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { errorMessage, IArtifactList, JobsAPI } from '../api';
import { formatBytes } from '../usage';

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp'
};

/** The image type of an artifact shown in the panel, or undefined. */
export function imageType(path: string): string | undefined {
  const extension = path.split('.').pop()?.toLowerCase() ?? '';
  return IMAGE_TYPES[extension];
}

/** Why the server did not keep a file, in the user's language (unknown: as it is). */
export function reasonText(reason: string, trans: TranslationBundle): string {
  switch (reason) {
    case 'over the size limit':
      return trans.__('over the size limit');
    case 'a symbolic link':
      return trans.__('a symbolic link');
    case 'not a regular file':
      return trans.__('not a regular file');
    case 'nested too deep':
      return trans.__('nested too deep');
    default:
      return reason;
  }
}

export interface IArtifactListProps {
  api: JobsAPI;
  jobId: string;
  /** Reload when the job ends (the local backend keeps artifacts at its end). */
  final: boolean;
  trans: TranslationBundle;
}

/** Save a Blob under `name` through the browser. */
function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The files the job left in `$HOME/artifacts/`: sizes, download, image preview. */
export function ArtifactList(props: IArtifactListProps): JSX.Element | null {
  const { api, jobId, final, trans } = props;
  const [list, setList] = React.useState<IArtifactList | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [preview, setPreview] = React.useState<{
    path: string;
    url: string;
  } | null>(null);

  React.useEffect(() => {
    let stopped = false;
    api
      .listArtifacts(jobId)
      .then(fresh => !stopped && (setList(fresh), setError(null)))
      .catch(e => !stopped && setError(errorMessage(e, trans)));
    return () => {
      stopped = true;
    };
  }, [jobId, final]);

  React.useEffect(
    () => () => {
      if (preview) {
        URL.revokeObjectURL(preview.url);
      }
    },
    [preview]
  );

  const download = async (path: string) => {
    try {
      saveBlob(
        await api.downloadArtifact(jobId, path),
        path.split('/').pop() ?? path
      );
    } catch (e) {
      setError(errorMessage(e, trans));
    }
  };
  const show = async (path: string, type: string) => {
    try {
      const blob = await api.downloadArtifact(jobId, path);
      setPreview({
        path,
        url: URL.createObjectURL(new Blob([blob], { type }))
      });
    } catch (e) {
      setError(errorMessage(e, trans));
    }
  };

  if (error) {
    return <p className="jp-Jobs-hint jp-Jobs-artifactsMessage">{error}</p>;
  }
  if (!list) {
    return null;
  }
  const empty = list.artifacts.length === 0;
  return (
    <div className="jp-Jobs-artifacts">
      {list.message && (
        <p className="jp-Jobs-hint jp-Jobs-artifactsMessage">{list.message}</p>
      )}
      {empty && list.available && !list.message && (
        <p className="jp-Jobs-hint jp-Jobs-artifactsMessage">
          {trans.__(
            'No artifacts: files a job writes to $HOME/artifacts/ are kept here.'
          )}
        </p>
      )}
      {!empty && (
        <table className="jp-Jobs-artifactTable">
          <tbody>
            {list.artifacts.map(artifact => {
              const type = imageType(artifact.path);
              return (
                <tr key={artifact.path} data-path={artifact.path}>
                  <td className="jp-Jobs-artifactPath">
                    <code>{artifact.path}</code>
                  </td>
                  <td className="jp-Jobs-artifactSize">
                    {formatBytes(artifact.size, trans)}
                  </td>
                  <td className="jp-Jobs-artifactActions">
                    {type && (
                      <Button
                        minimal
                        small
                        className="jp-Jobs-artifactShow"
                        onClick={() => void show(artifact.path, type)}
                        title={trans.__('Show %1', artifact.path)}
                      >
                        {trans.__('Show')}
                      </Button>
                    )}
                    <Button
                      minimal
                      small
                      className="jp-Jobs-artifactDownload"
                      onClick={() => void download(artifact.path)}
                      title={trans.__('Download %1', artifact.path)}
                    >
                      <downloadIcon.react
                        tag="span"
                        className="jp-Jobs-buttonIcon"
                      />
                    </Button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {list.omitted.length > 0 && (
        <ul className="jp-Jobs-artifactsOmitted">
          {list.omitted.map(entry => (
            <li key={entry.path}>
              <code>{entry.path}</code>
              <span className="jp-Jobs-artifactOmittedReason">
                {trans.__(
                  '(%1, %2: not kept)',
                  formatBytes(entry.size, trans),
                  reasonText(entry.reason, trans)
                )}
              </span>
            </li>
          ))}
        </ul>
      )}
      {preview && (
        <figure className="jp-Jobs-artifactPreview">
          <img src={preview.url} alt={preview.path} />
          <figcaption>
            <code>{preview.path}</code>
          </figcaption>
        </figure>
      )}
    </div>
  );
}
