import {
  formatParameters,
  parametersFromCell,
  parametersOfNotebook,
  parseParameters,
  parseValue,
  pythonLiteralToJSON
} from '../parameters';

describe('parseValue', () => {
  it.each([
    ['3', 3],
    ['0.5', 0.5],
    ['-2e3', -2000],
    ['true', true],
    ['null', null],
    ['"quoted text"', 'quoted text'],
    ['[1, 2]', [1, 2]],
    ['{"a": {"b": 1}}', { a: { b: 1 } }],
    ['hello world', 'hello world'],
    ["'single'", "'single'"],
    ['True', 'True'],
    ['  padded  ', 'padded'],
    ['', '']
  ])('%j -> %j', (text, value) => {
    expect(parseValue(text)).toEqual(value);
  });
});

describe('parseParameters', () => {
  it('parses name = value lines, JSON when it parses, else strings', () => {
    const parsed = parseParameters(
      'alpha = 0.5\nepochs=3\nlabel = first run\n\n# a comment\nflags = [true, false]\nurl = http://x/?a=b'
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.values).toEqual({
      alpha: 0.5,
      epochs: 3,
      label: 'first run',
      flags: [true, false],
      url: 'http://x/?a=b'
    });
  });

  it('keeps `=` inside values and handles CRLF', () => {
    expect(parseParameters('expr = a == b\r\nx = 1').values).toEqual({
      expr: 'a == b',
      x: 1
    });
  });

  it('reports lines without =, bad names and duplicates with their line', () => {
    const parsed = parseParameters('ok = 1\njust text\n1bad = 2\n = 3\nok = 4');
    expect(parsed.values).toEqual({ ok: 1 });
    expect(parsed.errors.map(e => e.line)).toEqual([2, 3, 4, 5]);
    expect(parsed.errors[0].message).toContain('expected name = value');
    expect(parsed.errors[1].message).toContain('"1bad" is not a valid');
    expect(parsed.errors[3].message).toContain('given twice');
  });

  it('never evaluates anything: code stays a string', () => {
    const parsed = parseParameters('x = __import__("os").system("id")');
    expect(parsed.values.x).toBe('__import__("os").system("id")');
  });

  it('round-trips through formatParameters', () => {
    const values = { a: 1, b: 'two words', c: [1, { d: null }], e: true };
    expect(parseParameters(formatParameters(values)).values).toEqual(values);
  });
});

describe('pythonLiteralToJSON', () => {
  it.each([
    ['True', 'true'],
    ['None', 'null'],
    ["'text'", '"text"'],
    ["['a', 1, False]", '["a", 1, false]'],
    ["{'k': 'it\\'s'}", '{"k": "it\'s"}'],
    ['0.25', '0.25'],
    ['np.linspace(0, 1)', 'np.linspace(0, 1)'],
    ["'unterminated", "'unterminated"]
  ])('%s -> %s', (python, json) => {
    expect(pythonLiteralToJSON(python)).toBe(json);
  });
});

describe('parametersFromCell', () => {
  it('takes simple assignments, strips comments, converts literals', () => {
    const source = [
      '# Parameters',
      'alpha = 0.1  # learning rate',
      "name = 'run #1'",
      'debug = False',
      'epochs: int = 3',
      'import os',
      'if x == 1:',
      '    pass'
    ].join('\n');
    expect(parametersFromCell(source)).toBe(
      'alpha = 0.1\nname = "run #1"\ndebug = false\nepochs = 3'
    );
  });
});

describe('parametersOfNotebook', () => {
  const cell = (source: string | string[], tags: string[] = []) => ({
    cell_type: 'code',
    source,
    metadata: { tags }
  });

  it('reads the first code cell tagged parameters', () => {
    const notebook = {
      cells: [
        cell('x = 0'),
        cell(['a = 1\n', "b = 'two'\n"], ['parameters']),
        cell('c = 3', ['parameters'])
      ]
    };
    expect(parametersOfNotebook(notebook)).toBe('a = 1\nb = "two"');
  });

  it('is empty without such a cell or without cells', () => {
    expect(parametersOfNotebook({ cells: [cell('x = 1')] })).toBe('');
    expect(parametersOfNotebook(null)).toBe('');
    expect(parametersOfNotebook({})).toBe('');
  });
});
