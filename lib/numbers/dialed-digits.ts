/**
 * Dialed strings reach us as the PBX sent them; people and dialplans add visual separators.
 * Everything that is not a digit, `+`, `*` or `#` is dropped so that `011 44 20-7946-0000`
 * and `01144207946000` are the same destination.
 */
export function normalizeDialed(dialed: string): string {
  let out = '';
  for (let i = 0; i < dialed.length; i++) {
    const c = dialed.charCodeAt(i);
    if ((c >= 48 && c <= 57) || c === 43 || c === 42 || c === 35) out += dialed[i];
  }
  return out;
}

export function isAllDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
