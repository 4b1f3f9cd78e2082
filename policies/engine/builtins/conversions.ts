// to_number: null is 0, booleans 0/1, numbers themselves, decimal strings parsed (integers exact).
import { normalizeNumber } from '../value.js';
import { builtinError, define } from './support.js';

const decimalNumber = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export const conversionBuiltins = [
  define('to_number', [['null', 'boolean', 'number', 'string']], ([value]) => {
    if (value === null) return 0;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value !== 'string') return value!;
    if (!decimalNumber.test(value)) throw builtinError('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(value)}: invalid syntax`);
    if (/^[+-]?\d+$/.test(value)) return normalizeNumber(BigInt(value));
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw builtinError('to_number', `strconv.ParseFloat: parsing ${JSON.stringify(value)}: value out of range`);
    return parsed;
  }),
];
