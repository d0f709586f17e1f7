/// <reference types="node" />
/**
 * Every user-facing string of the frontend goes through the translator (`trans.__`,
 * `trans._n`, `trans._p`) with a literal message, so that a language pack can find and
 * translate it. This reads the sources with the TypeScript parser and fails on:
 * - JSX text with letters (it must be `{trans.__('...')}`), except code in `<code>`,
 * - a literal in a user-facing JSX attribute or object property (title, label, ...),
 * - any other literal that reads like words ("Two words", "Capitalised"),
 * - a translator call whose message is not a literal (it could not be extracted).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

import { TRANSLATION_DOMAIN } from '../i18n';

const SRC = path.resolve(__dirname, '..');

/** Props and object keys whose value a user reads. */
const USER_FACING = new Set([
  'title',
  'label',
  'placeholder',
  'aria-label',
  'alt',
  'caption',
  'tooltip',
  'body'
]);

/** Attributes whose value is never text for people. */
const NOT_TEXT_ATTRIBUTES = new Set([
  'className',
  'id',
  'htmlFor',
  'key',
  'name',
  'type',
  'role',
  'rel',
  'target',
  'href',
  'rightIcon',
  'tag'
]);

const TRANSLATOR_METHODS = new Set(['__', '_n', '_p', '_np']);

/**
 * Literals that look like words but are not text for people, with the reason.
 * Keep it short: a new entry needs a reason a reviewer accepts.
 */
const ALLOWED: Record<string, string> = {
  // The API's status values: compared and sent as they are; shown via statusLabel().
  Pending: 'API value',
  Preparing: 'API value',
  Running: 'API value',
  Succeeded: 'API value',
  Failed: 'API value',
  Cancelled: 'API value',
  // ServerUnreachableError's own message; errorMessage() shows a translated one.
  'Cannot reach the Jupyter server': 'never shown: errorMessage() translates',
  // The plugin's description: metadata, read before any translator is loaded.
  'Run, watch, cancel and rerun batch jobs for your groups.': 'plugin metadata',
  // The widget factory name given to docRegistry.addWidgetExtension().
  Notebook: 'a document widget name',
  // The README heading whose section docs.ts shows (the README is not translated).
  Configuration: 'a README heading',
  // A shell command as the example in the Command field (code, not words).
  'cd %\npython -u train.py': 'example code'
};

/** Reads like words: two words of letters, or a capitalised word. */
const WORDS = /[A-Za-z]{2,}[ \t]+[A-Za-z]{2,}|^[A-Z][a-z]+[.…!?:]?$/;

interface IViolation {
  file: string;
  line: number;
  text: string;
  why: string;
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry): string[] => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        return entry.name === '__tests__' ? [] : sourceFiles(full);
      }
      return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')
        ? [full]
        : [];
    });
}

function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    return node.text;
  }
  if (ts.isTemplateExpression(node)) {
    return [
      node.head.text,
      ...node.templateSpans.map(s => s.literal.text)
    ].join('%');
  }
  return null;
}

function isTranslatorCall(node: ts.Node): node is ts.CallExpression {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    TRANSLATOR_METHODS.has(node.expression.name.text)
  );
}

function isConsoleCall(node: ts.Node): boolean {
  return (
    ts.isCallExpression(node) &&
    ts.isPropertyAccessExpression(node.expression) &&
    ts.isIdentifier(node.expression.expression) &&
    node.expression.expression.text === 'console'
  );
}

/** The name of the JSX attribute or object property whose value `node` is. */
function ownerName(node: ts.Node): string | null {
  let current = node.parent;
  // Through `{...}`, `a ? 'x' : 'y'` and parentheses.
  while (
    current &&
    (ts.isJsxExpression(current) ||
      ts.isConditionalExpression(current) ||
      ts.isParenthesizedExpression(current) ||
      ts.isBinaryExpression(current))
  ) {
    if (
      ts.isBinaryExpression(current) &&
      current.operatorToken.kind !== ts.SyntaxKind.BarBarToken &&
      current.operatorToken.kind !== ts.SyntaxKind.QuestionQuestionToken
    ) {
      return null;
    }
    current = current.parent;
  }
  if (current && ts.isJsxAttribute(current)) {
    return current.name.getText();
  }
  if (current && ts.isPropertyAssignment(current)) {
    return current.name.getText().replace(/['"]/g, '');
  }
  return null;
}

/** Whether the literal is compared or switched on (a value, not text). */
function isComparedValue(node: ts.Node): boolean {
  const parent = node.parent;
  if (ts.isCaseClause(parent)) {
    return true;
  }
  return (
    ts.isBinaryExpression(parent) &&
    [
      ts.SyntaxKind.EqualsEqualsEqualsToken,
      ts.SyntaxKind.ExclamationEqualsEqualsToken
    ].includes(parent.operatorToken.kind)
  );
}

/** JSX text in a `<code>` element: code (a path, a command), not words. */
function isInsideCode(node: ts.JsxText): boolean {
  const element = node.parent;
  return (
    ts.isJsxElement(element) &&
    element.openingElement.tagName.getText() === 'code'
  );
}

function insideTranslatorOrConsole(node: ts.Node): boolean {
  for (let current = node.parent; current; current = current.parent) {
    if (isTranslatorCall(current) || isConsoleCall(current)) {
      return true;
    }
  }
  return false;
}

export function findUntranslated(file: string, text: string): IViolation[] {
  const source = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS
  );
  const found: IViolation[] = [];
  const report = (node: ts.Node, literal: string, why: string) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart());
    found.push({ file, line: line + 1, text: literal, why });
  };
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) ||
      ts.isExportDeclaration(node) ||
      ts.isLiteralTypeNode(node)
    ) {
      return;
    }
    if (isTranslatorCall(node)) {
      const method = (node.expression as ts.PropertyAccessExpression).name.text;
      const messages = method.startsWith('_n')
        ? node.arguments.slice(0, 2)
        : [node.arguments[0]];
      for (const message of messages) {
        if (
          !message ||
          !(
            ts.isStringLiteral(message) ||
            ts.isNoSubstitutionTemplateLiteral(message)
          )
        ) {
          report(node, node.getText(), 'translator message is not a literal');
        }
      }
    }
    if (
      ts.isJsxText(node) &&
      /[A-Za-z]/.test(node.text) &&
      !isInsideCode(node)
    ) {
      report(node, node.text.trim(), 'JSX text');
    }
    const literal = literalText(node);
    if (literal !== null && !insideTranslatorOrConsole(node)) {
      const owner = ownerName(node);
      const allowed = literal in ALLOWED;
      if (owner !== null && NOT_TEXT_ATTRIBUTES.has(owner)) {
        // a class name, an id, ...
      } else if (
        owner !== null &&
        USER_FACING.has(owner) &&
        /[A-Za-z]/.test(literal)
      ) {
        if (!allowed) {
          report(node, literal, `literal "${owner}"`);
        }
      } else if (WORDS.test(literal) && !allowed && !isComparedValue(node)) {
        report(node, literal, 'literal that reads like words');
      }
      if (ts.isTemplateExpression(node)) {
        // Its substitutions may hold literals of their own.
        node.templateSpans.forEach(span => visit(span.expression));
        return;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('translations', () => {
  it('every user-facing string of src/ goes through the translator', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(10);
    const violations = files.flatMap(file =>
      findUntranslated(path.relative(SRC, file), fs.readFileSync(file, 'utf-8'))
    );
    expect(
      violations.map(
        v => `${v.file}:${v.line} ${v.why}: ${JSON.stringify(v.text)}`
      )
    ).toEqual([]);
  });

  it('the settings schema is translated in the same domain', () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(SRC, '..', 'schema', 'plugin.json'), 'utf-8')
    );
    expect(schema['jupyter.lab.internationalization'].domain).toBe(
      TRANSLATION_DOMAIN
    );
  });

  it('the allow-list has no stale entries', () => {
    const all = sourceFiles(SRC)
      .map(file => fs.readFileSync(file, 'utf-8'))
      .join('\n');
    const stale = Object.keys(ALLOWED).filter(
      text => !all.includes(text.split('%')[0].replace(/\n/g, '\\n'))
    );
    expect(stale).toEqual([]);
  });

  it.each([
    ['JSX text', 'const a = <p>Hello there</p>;', 'JSX text'],
    ['a title prop', 'const a = <b title="Stop">{x}</b>;', 'literal "title"'],
    ['a label property', "const a = { label: 'Rerun' };", 'literal "label"'],
    [
      'a template in a notification',
      'Notification.error(`Could not rerun ${name}`);',
      'literal that reads like words'
    ],
    [
      'a computed message',
      'const a = trans.__(message);',
      'translator message is not a literal'
    ]
  ])('catches %s', (_, code, why) => {
    expect(findUntranslated('x.tsx', code).map(v => v.why)).toEqual([why]);
  });

  it.each([
    "const a = <p>{trans.__('Hello there')}</p>;",
    'const a = <code>python -u</code>;',
    'const a = <b className="jp-Jobs-a jp-Jobs-b" title={trans.__(\'Stop\')} />;',
    "const a = trans._n('One line', '%1 lines', n);",
    "if (job.status === 'Succeeded') { f(); }",
    "console.error('jupyterlab-jobs: could not load settings', reason);",
    "import { Button } from '@jupyterlab/ui-components';"
  ])('accepts %s', code => {
    expect(findUntranslated('x.tsx', code)).toEqual([]);
  });
});
