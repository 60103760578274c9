import { el } from "./dom.js";
import type { NameBook } from "./names.js";

/** Room name, member count and list, and the listened rooms with their Silence buttons. */
export class SidePanel {
  private members: string[] = [];
  private selfId: string | undefined;

  constructor(
    private readonly parts: {
      roomName: HTMLElement;
      count: HTMLElement;
      countWord: HTMLElement;
      members: HTMLUListElement;
      listening: HTMLUListElement;
    },
    private readonly names: NameBook,
    private readonly onSilence: (room: string) => void,
  ) {}

  showRoom(room: string): void {
    this.parts.roomName.textContent = room;
  }

  showMembers(members: string[], count: number, selfId: string | undefined): void {
    this.members = members;
    this.selfId = selfId;
    this.parts.count.textContent = String(count);
    this.parts.countWord.textContent = count === 1 ? "member" : "members";
    this.renderMembers();
  }

  /** Re-renders names (after a name was learned). */
  renderMembers(): void {
    const sorted = [...this.members].sort((a, b) => (a === this.selfId ? -1 : b === this.selfId ? 1 : this.names.label(a).localeCompare(this.names.label(b))));
    this.parts.members.replaceChildren(
      ...sorted.map((id) => {
        const item = el("li", { attrs: { "data-id": id, title: id } }, el("span", { text: this.names.label(id) }));
        if (id === this.selfId) item.append(el("span", { className: "you", text: "(you)" }));
        return item;
      }),
    );
  }

  showListening(rooms: readonly string[]): void {
    this.parts.listening.replaceChildren(
      ...rooms.map((room) => {
        const button = el("button", { className: "link", text: "Silence", attrs: { type: "button", "aria-label": `Silence ${room}` } });
        button.addEventListener("click", () => this.onSilence(room));
        return el("li", { attrs: { "data-room": room } }, el("span", { text: `#${room}` }), button);
      }),
    );
  }
}
