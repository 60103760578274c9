/** What the demo says: `{text, name}`. Other clients (nc, scripts) may say plain strings or any JSON. */
export interface DemoPayload {
  text: string;
  name?: string;
}

export function makePayload(text: string, name: string): DemoPayload {
  return name ? { text, name } : { text };
}

/** The text to show for any chat message body, and the sender's name if it carried one. */
export function readPayload(message: unknown): { text: string; name?: string } {
  if (typeof message === "string") return { text: message };
  if (typeof message === "object" && message !== null && !Array.isArray(message)) {
    const body = message as Record<string, unknown>;
    if (typeof body.text === "string") return { text: body.text, ...(typeof body.name === "string" ? { name: body.name } : {}) };
  }
  return { text: JSON.stringify(message) };
}
