import { el } from "./dom.js";

export interface ShownMessage {
  who: string;
  text: string;
  sentAt: number;
  /** A room other than the current one (a listened room): shown as a tag. */
  room?: string;
  mine?: boolean;
  from?: string;
}

const MAX_ITEMS = 500;

/** The message log: chat bubbles and one-line notices, kept scrolled to the end while the reader is there. */
export class MessageList {
  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
  ) {}

  add(message: ShownMessage): HTMLLIElement {
    const time = new Date(message.sentAt);
    const meta = el(
      "span",
      { className: "meta" },
      el("span", { className: "who", text: message.who }),
      ...(message.room ? [el("span", { className: "where", text: `#${message.room}`, attrs: { title: `from room ${message.room}` } })] : []),
      el("time", { text: formatTime(time), attrs: { datetime: time.toISOString() } }),
    );
    const item = el("li", { className: message.mine ? "msg mine" : "msg" }, meta, el("p", { className: "text", text: message.text }));
    if (message.from) item.dataset.from = message.from;
    return this.append(item);
  }

  notice(text: string, at = Date.now()): HTMLLIElement {
    const time = new Date(at);
    return this.append(
      el("li", { className: "msg notice" }, `${text} · `, el("time", { className: "meta", text: formatTime(time), attrs: { datetime: time.toISOString() } })),
    );
  }

  private append(item: HTMLLIElement): HTMLLIElement {
    const list = this.list;
    const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(item);
    while (list.childElementCount > MAX_ITEMS) list.firstElementChild?.remove();
    this.empty.hidden = true;
    if (atEnd) list.scrollTop = list.scrollHeight;
    return item;
  }
}

export function formatTime(date: Date): string {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
