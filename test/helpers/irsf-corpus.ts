/**
 * Destinations of international revenue share fraud (shared/notes/domain.md): long-time
 * targets, one-ring scams, NANP look-alikes that are international, satellite and
 * international networks, US premium-rate. Each a valid number (libphonenumber's examples
 * where the notes name no number), so a test that sees one pass knows the rule failed, not
 * the number.
 */
export interface IrsfEntry {
  what: string;
  /** E.164 with `+`. */
  e164: string;
  /** Reached from the US without leaving the NANP: its national form is its E.164 digits. */
  nanp?: boolean;
}

export const IRSF_CORPUS: readonly IrsfEntry[] = [
  { what: 'Cuba (fixed, the lab forward)', e164: '+5378612345' },
  { what: 'Cuba (mobile)', e164: '+5351234567' },
  { what: 'Latvia', e164: '+37121234567' },
  { what: 'Lithuania', e164: '+37061234567' },
  { what: 'Somalia', e164: '+25271123456' },
  { what: 'Mauritania (one-ring)', e164: '+22222123456' },
  { what: 'Sierra Leone (one-ring)', e164: '+23225123456' },
  { what: 'Dominican Republic +1 809', e164: '+18092345678', nanp: true },
  { what: 'Jamaica +1 876', e164: '+18762101234', nanp: true },
  { what: 'British Virgin Islands +1 284', e164: '+12843001234', nanp: true },
  { what: 'Turks and Caicos +1 649', e164: '+16492311234', nanp: true },
  { what: 'Grenada +1 473', e164: '+14734031234', nanp: true },
  { what: 'Antigua +1 268', e164: '+12684641234', nanp: true },
  { what: 'Bahamas +1 242', e164: '+12423591234', nanp: true },
  { what: 'Bermuda +1 441', e164: '+14413701234', nanp: true },
  { what: 'Trinidad +1 868', e164: '+18682911234', nanp: true },
  { what: 'Global mobile satellite +881', e164: '+881612345678' },
  { what: 'International networks +882', e164: '+88213456790' },
  { what: 'International networks +883', e164: '+88351001234' },
  { what: 'Inmarsat +870', e164: '+870772123456' },
  { what: 'US premium-rate +1 900', e164: '+19005551234', nanp: true },
];

/**
 * Every way a US PBX may be given the number: `+`, the NANP international prefix `011`,
 * the European `00`, and E.164 digits without `+` (a `_+X. → ${EXTEN:1}` route). Within the
 * NANP, `011 1...` and `00 1...` are no form anyone dials, but they are read the same way.
 */
export function dialedForms(e164: string): string[] {
  const digits = e164.slice(1);
  return [`+${digits}`, `011${digits}`, `00${digits}`, digits];
}
