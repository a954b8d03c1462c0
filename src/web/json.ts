// JSON from outside, parsed with a bound on nesting. JSON.parse itself copes with deep nesting, but
// everything that walks the result afterwards (schema validation, log serialisation, structured clone
// into a queue job) recurses, and a payload nested a hundred thousand levels deep overflows the stack
// there. Neither Slack nor GitHub sends anything deeper than a few dozen levels.
export const MAX_JSON_DEPTH = 64;

export type JsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

/** Deepest nesting of arrays/objects in the text, ignoring brackets inside strings; stops past `limit`. */
export function jsonDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i += 1;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth += 1;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth -= 1;
  }
  return deepest;
}

/** Parses a JSON object (the only top-level shape either sender uses) within the depth bound. */
export function parseJsonObject(text: string, maxDepth = MAX_JSON_DEPTH): JsonResult {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    return { ok: false, reason: `JSON nested deeper than ${maxDepth} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'body is not a JSON object' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
