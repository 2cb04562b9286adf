/**
 * Dead-letter messages: the original bytes of a message that could not be (fully) ingested, with
 * headers saying where it came from and why. Valid records of the same message are still written,
 * so replaying a dead letter after a fix is safe (the store deduplicates).
 */
import type { BusMessage, DeliveredMessage } from '../bus/bus.js';
import type { RecordError } from '../schema/codec.js';

export function deadLetter(message: DeliveredMessage, errors: RecordError[]): BusMessage {
  const reason = errors.map((e) => e.reason).join('; ');
  return {
    key: message.key,
    value: message.value,
    headers: {
      'isoscope-reason': reason.length > 4000 ? `${reason.slice(0, 4000)}… (${errors.length} errors)` : reason,
      'isoscope-topic': message.topic,
      'isoscope-partition': String(message.partition),
      'isoscope-offset': message.offset,
      'isoscope-rejected-records': String(errors.length),
    },
  };
}
