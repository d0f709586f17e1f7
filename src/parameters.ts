/**
 * Notebook parameters as `name = value` lines, as papermill's `parameters` cell has them.
 *
 * A value is taken as JSON when it parses as JSON (`3`, `0.5`, `true`, `"text"`,
 * `[1, 2]`, `{"a": 1}`, `null`), otherwise as the plain string it is (`hello world`).
 * The server passes them to the notebook as data, never as code.
 */

import { TranslationBundle } from '@jupyterlab/translation';

import { ENGLISH } from './i18n';

/** A name papermill can inject: a Python identifier (ASCII letters, digits, `_`). */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface IParameterError {
  /** 1-based line number. */
  line: number;
  message: string;
}

export interface IParsedParameters {
  values: Record<string, unknown>;
  errors: IParameterError[];
}

/** One value: JSON when it parses, otherwise the text itself. */
export function parseValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') {
    return '';
  }
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}

/**
 * Parse `name = value` lines. Blank lines and lines starting with `#` are skipped.
 */
export function parseParameters(
  text: string,
  trans: TranslationBundle = ENGLISH
): IParsedParameters {
  const values: Record<string, unknown> = {};
  const errors: IParameterError[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) {
      return;
    }
    const equals = content.indexOf('=');
    if (equals < 0) {
      errors.push({
        line,
        message: trans.__('line %1: expected name = value', line)
      });
      return;
    }
    const name = content.slice(0, equals).trim();
    if (!NAME.test(name)) {
      errors.push({
        line,
        message: name
          ? trans.__('line %1: "%2" is not a valid parameter name', line, name)
          : trans.__('line %1: a name is missing before =', line)
      });
      return;
    }
    if (Object.prototype.hasOwnProperty.call(values, name)) {
      errors.push({
        line,
        message: trans.__('line %1: "%2" is given twice', line, name)
      });
      return;
    }
    values[name] = parseValue(content.slice(equals + 1));
  });
  return { values, errors };
}

/** Render parameters back to `name = value` lines (values as JSON). */
export function formatParameters(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name} = ${formatValue(value)}`)
    .join('\n');
}

function formatValue(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * Python's spelling of a literal, turned into JSON where that is simple: `True`,
 * `False`, `None`, single-quoted strings, and lists/dicts of those. Anything else
 * (an expression, a call) is returned unchanged and will be sent as a string.
 */
export function pythonLiteralToJSON(literal: string): string {
  const text = literal.trim();
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"') {
      // A string literal: re-quote it as JSON.
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) {
          const next = text[j + 1];
          const escapes: Record<string, string> = {
            n: '\n',
            t: '\t',
            r: '\r',
            '\\': '\\',
            "'": "'",
            '"': '"'
          };
          value += escapes[next] ?? '\\' + next;
          j += 2;
        } else {
          value += text[j];
          j += 1;
        }
      }
      if (j >= text.length) {
        return text;
      }
      out += JSON.stringify(value);
      i = j + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      const mapped: Record<string, string> = {
        True: 'true',
        False: 'false',
        None: 'null'
      };
      out += mapped[word[0]] ?? word[0];
      i += word[0].length;
      continue;
    }
    out += c;
    i += 1;
  }
  try {
    JSON.parse(out);
    return out;
  } catch {
    return text;
  }
}

/**
 * The `name = value` lines of a papermill `parameters` cell's Python source, with
 * Python literals written as JSON. Comments, blank lines and anything that is not a
 * simple assignment are left out.
 */
export function parametersFromCell(source: string): string {
  const lines: string[] = [];
  for (const raw of source.split(/\r?\n/)) {
    const code = stripComment(raw).trim();
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=(?!=)\s*(.*)$/.exec(
      code
    );
    if (!match || match[2] === '') {
      continue;
    }
    lines.push(`${match[1]} = ${pythonLiteralToJSON(match[2])}`);
  }
  return lines.join('\n');
}

/** The line without its `#` comment (a `#` inside a string literal is kept). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\') {
        i += 1;
      } else if (c === quote) {
        quote = null;
      }
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}

/** A cell of a notebook file (nbformat 4). */
interface INotebookCell {
  cell_type?: string;
  source?: string | string[];
  metadata?: { tags?: unknown };
}

/**
 * The `name = value` lines of the notebook's papermill `parameters` cell (the first
 * code cell tagged `parameters`), or '' when it has none.
 */
export function parametersOfNotebook(content: unknown): string {
  const cells = (content as { cells?: INotebookCell[] } | null)?.cells;
  if (!Array.isArray(cells)) {
    return '';
  }
  const cell = cells.find(
    c =>
      c.cell_type === 'code' &&
      Array.isArray(c.metadata?.tags) &&
      (c.metadata?.tags as unknown[]).includes('parameters')
  );
  if (!cell) {
    return '';
  }
  const source = Array.isArray(cell.source)
    ? cell.source.join('')
    : (cell.source ?? '');
  return parametersFromCell(source);
}
