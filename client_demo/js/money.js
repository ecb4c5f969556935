// Money is integer cents end to end; units text is parsed as a string, never as a float.
export const MAX_CENTS = 100_000_000_000;

const AMOUNT_RE = /^(\d*)(?:\.(\d{0,2}))?$/;

export function parseAmount(text) {
  const s = String(text ?? '').trim().replace(/[\s_']/g, '').replace(/,(?=\d{3}(\D|$))/g, '');
  const m = AMOUNT_RE.exec(s);
  if (!m || (m[1] === '' && !m[2])) {
    throw new RangeError('Enter an amount like 12.34 (digits, at most two decimals).');
  }
  const whole = m[1].replace(/^0+(?=\d)/, '');
  if (whole.length > 10) throw new RangeError('That amount is too large.');
  const cents = Number(whole || '0') * 100 + Number((m[2] || '').padEnd(2, '0'));
  if (cents < 1) throw new RangeError('The amount must be at least 0.01.');
  if (cents > MAX_CENTS) throw new RangeError('The amount must be at most 1,000,000,000.00.');
  return cents;
}

export function formatCents(cents, { signed = false } = {}) {
  const n = Number(cents);
  if (!Number.isSafeInteger(n)) return String(cents);
  const abs = Math.abs(n);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = String(abs % 100).padStart(2, '0');
  const sign = n < 0 ? '-' : signed && n > 0 ? '+' : '';
  return `${sign}${whole}.${frac}`;
}

export function formatMoney(cents, currency = 'USD', options) {
  return `${formatCents(cents, options)} ${currency || ''}`.trim();
}
