// The two kinds of delivery event the service counts.
export type EventType = 'delivered' | 'bounced';

export function isEventType(value: unknown): value is EventType {
  return value === 'delivered' || value === 'bounced';
}
