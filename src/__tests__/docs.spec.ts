import readme from '../../README.md';
import { readmeSection } from '../docs';

describe('readmeSection', () => {
  it("finds the README's configuration section, which the default setup links to", () => {
    const section = readmeSection('Configuration');
    expect(section.startsWith('## Configuration\n')).toBe(true);
    expect(section).toContain('c.JobsApp.groups');
    expect(section).toContain('default setup');
    // It stops before the next section.
    expect(section).not.toContain('\n## ');
    expect(readme.length).toBeGreaterThan(section.length);
  });

  it('is empty for a section the README does not have', () => {
    expect(readmeSection('No such section', '# x\n## Other\ntext\n')).toBe('');
  });
});
