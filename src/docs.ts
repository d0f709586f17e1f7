import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import readme from '../README.md';

/** The README's section headed `## title`, heading included; '' if there is none. */
export function readmeSection(
  title: string,
  markdown: string = readme
): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) {
    return '';
  }
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start + 1, end < 0 ? undefined : end).trim();
}

/**
 * The README's configuration section, as shipped with this version of the extension,
 * in a tab of JupyterLab (rendered as markdown when a renderer is available).
 */
export async function configurationDocs(
  rendermime: IRenderMimeRegistry | null,
  trans: TranslationBundle
): Promise<MainAreaWidget> {
  const markdown = readmeSection('Configuration');
  let content: Widget;
  if (rendermime) {
    const renderer = rendermime.createRenderer('text/markdown');
    await renderer.renderModel(
      new MimeModel({ data: { 'text/markdown': markdown } })
    );
    content = renderer;
  } else {
    content = new Widget({ node: document.createElement('pre') });
    content.node.textContent = markdown;
  }
  content.addClass('jp-Jobs-docs');
  const widget = new MainAreaWidget({ content });
  widget.id = 'jupyterlab-jobs-configuration-docs';
  widget.title.label = trans.__('Jobs: configuration');
  widget.title.closable = true;
  return widget;
}
