// The two kinds of delivery event the service counts.
export const EVENT_TYPES = ['delivered', 'bounced'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return value === 'delivered' || value === 'bounced';
}

/** One validated event. */
export interface DomainEvent {
  domain: string;
  type: EventType;
}
