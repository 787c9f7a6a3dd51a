// A change as the API shows it: in GET /changes and as the `data` of a webhook
// message (the same object, so a receiver can resume the feed from its cursor).
import { Change } from '../../business/ports';
import { encodeCursor } from './changes-query';

export interface ChangeView {
  cursor: string;
  domain: string;
  from: string;
  to: string;
  delivered: number;
  bounced: number;
  at: string;
}

export function toChangeView(c: Change): ChangeView {
  return {
    cursor: encodeCursor(c.id),
    domain: c.domain,
    from: c.from,
    to: c.to,
    delivered: c.delivered,
    bounced: c.bounced,
    at: c.at.toISOString(),
  };
}
