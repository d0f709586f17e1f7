import { codePoints, trimRequest, validateJobRequest } from '../validation';
import { OPTIONS as options } from './fixtures';

const good = {
  name: 'train',
  group: 'research',
  instance_type: 'cpu-1',
  image: 'python',
  command: 'python -u train.py\n\techo done'
};

describe('validateJobRequest', () => {
  it('accepts a good request', () => {
    expect(validateJobRequest(good, options)).toEqual({});
  });

  it('requires every field after trimming', () => {
    const errors = validateJobRequest(
      { name: '  ', group: '', instance_type: '', image: '', command: ' \n' },
      options
    );
    expect(Object.keys(errors).sort()).toEqual(
      ['command', 'group', 'image', 'instance_type', 'name'].sort()
    );
    expect(errors.name).toBe('Job name is required');
  });

  it('limits lengths in code points, as the server counts', () => {
    expect(
      validateJobRequest({ ...good, name: 'x'.repeat(200) }, options)
    ).toEqual({});
    expect(
      validateJobRequest({ ...good, name: 'x'.repeat(201) }, options).name
    ).toBe('Job name must be at most 200 characters');
    // 200 emoji are 400 UTF-16 units but 200 characters.
    expect(codePoints('😀'.repeat(200))).toBe(200);
    expect(
      validateJobRequest({ ...good, name: '😀'.repeat(200) }, options)
    ).toEqual({});
    expect(
      validateJobRequest({ ...good, command: 'x'.repeat(65537) }, options)
        .command
    ).toContain('65536');
  });

  it('refuses control characters, but tabs and line breaks in the command', () => {
    expect(
      validateJobRequest({ ...good, name: 'a\tb' }, options).name
    ).toContain('control');
    expect(
      validateJobRequest({ ...good, name: 'a\u0085b' }, options).name
    ).toContain('control');
    expect(
      validateJobRequest({ ...good, command: 'echo \u0007' }, options).command
    ).toContain('control');
    expect(
      validateJobRequest({ ...good, command: 'a\r\nb\tc' }, options)
    ).toEqual({});
  });

  it("limits choices to the user's groups and what the group allows", () => {
    expect(validateJobRequest({ ...good, group: 'ops' }, options).group).toBe(
      'Choose one of your groups'
    );
    const errors = validateJobRequest(
      { ...good, instance_type: 'gpu', image: 'r' },
      options
    );
    expect(errors.instance_type).toContain('does not allow');
    expect(errors.image).toContain('does not allow');
  });

  it('needs no command for a notebook job', () => {
    const { command, ...rest } = good;
    void command;
    expect(validateJobRequest(rest, options, false)).toEqual({});
  });
});

describe('trimRequest', () => {
  it('trims like the server', () => {
    expect(trimRequest({ ...good, name: ' n ', command: '\n ls \n' })).toEqual({
      ...good,
      name: 'n',
      command: 'ls'
    });
  });
});
