// Describes a client's value for an error message in bounded time and size:
// its type and a short preview, never a walk over the whole value. (Stringifying
// a 4,000-level nested array to quote it overflowed the stack and answered 500.)

const MAX_PREVIEW = 64;
const MAX_KEYS = 5;

export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return '(missing)';
    case 'string':
      return JSON.stringify(truncate(value));
    case 'number':
    case 'boolean':
    case 'bigint':
      return truncate(String(value));
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
      return describeObject(value as Record<string, unknown>);
    default:
      return `a ${typeof value}`;
  }
}

function describeObject(value: Record<string, unknown>): string {
  const keys: string[] = [];
  let more = false;
  // for…in stops early; Object.keys would list every key of a huge object first.
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (keys.length === MAX_KEYS) {
      more = true;
      break;
    }
    keys.push(JSON.stringify(truncate(key, 20)));
  }
  if (keys.length === 0) return 'an empty object';
  return `an object with keys ${keys.join(', ')}${more ? ', …' : ''}`;
}

function truncate(s: string, max = MAX_PREVIEW): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
