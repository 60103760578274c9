import { jsonNestedDeeperThan, MAX_JSON_DEPTH } from "../../protocol/index.js";

/** JSON over HTTP: every answer of the Worker is JSON, errors as {"error","code"} (spec section 2). */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}

export function jsonError(status: number, code: string, error: string, headers: HeadersInit = {}): Response {
  return json({ error, code }, status, headers);
}

export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a JSON object body of at most 1 MiB without buffering more than that. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw bodyTooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        await reader.cancel();
        throw bodyTooLarge();
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  const text = new TextDecoder().decode(bytes);
  if (jsonNestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new HttpError(400, "bad_request", `JSON may be nested at most ${MAX_JSON_DEPTH} levels deep`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad_request", "the body must be JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "bad_request", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function bodyTooLarge(): HttpError {
  return new HttpError(413, "message_too_large", `the body may be at most ${MAX_BODY_BYTES} bytes`);
}
