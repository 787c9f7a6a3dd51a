import { KeyLayout } from './key-layout';

const tagOf = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];

describe('KeyLayout', () => {
  it('keeps the single-Redis key names (no hash tag) with one group', () => {
    const layout = new KeyLayout('ca:', 1);
    expect(layout.groupOf('example.com')).toBe(0);
    expect(layout.genKey(0)).toBe('ca:gen');
    expect(layout.domainKey('example.com')).toBe('ca:d:example.com');
    expect([...layout.byGroup(3, (i) => `d${i}.com`)]).toEqual([[0, [0, 1, 2]]]);
  });

  it('puts a domain key and its generation key under one hash tag, the same for the same name', () => {
    const layout = new KeyLayout('ca:', 256);
    for (const name of ['example.com', 'a.io', 'xn--bcher-kva.example']) {
      const group = layout.groupOf(name);
      expect(layout.groupOf(name)).toBe(group);
      expect(tagOf(layout.domainKey(name))).toBe(String(group));
      expect(tagOf(layout.genKey(group))).toBe(String(group));
      expect(layout.domainKey(name)).toBe(`ca:{${group}}d:${name}`);
    }
  });

  it('spreads domains over every group, roughly evenly', () => {
    const layout = new KeyLayout('ca:', 256);
    const groups = layout.byGroup(100_000, (i) => `domain${i}.example.com`);
    expect(groups.size).toBe(256);
    const sizes = [...groups.values()].map((g) => g.length);
    // 390.6 on average; FNV-1a keeps every group within a quarter of it.
    expect(Math.min(...sizes)).toBeGreaterThan(290);
    expect(Math.max(...sizes)).toBeLessThan(490);
  });

  it('refuses a group count that is not a positive integer', () => {
    expect(() => new KeyLayout('ca:', 0)).toThrow(RangeError);
  });
});
