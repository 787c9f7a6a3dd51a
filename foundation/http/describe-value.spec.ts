import { describeValue } from './describe-value';

describe('describeValue', () => {
  it.each([
    [undefined, '(missing)'],
    [null, 'null'],
    ['a.com', '"a.com"'],
    ['x'.repeat(100), `"${'x'.repeat(64)}…"`],
    [42, '42'],
    [true, 'true'],
    [[1, 2], 'an array of 2 items'],
    [[1], 'an array of 1 item'],
    [{}, 'an empty object'],
    [{ a: 1, b: { c: 2 } }, 'an object with keys "a", "b"'],
    [{ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }, 'an object with keys "a", "b", "c", "d", "e", …'],
  ])('describes %j as %s', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });

  it('describes a value nested far deeper than the stack allows, at once', () => {
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(describeValue(deep)).toBe('an array of 1 item');
    expect(describeValue({ domain: deep })).toBe('an object with keys "domain"');
  });

  it('quotes a string with control characters as JSON, bounded', () => {
    expect(describeValue('a\nb"c')).toBe('"a\\nb\\"c"');
  });
});
