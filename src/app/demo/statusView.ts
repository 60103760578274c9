import type { ConnectionStatus } from "../../client/index.js";

const TEXT: Record<ConnectionStatus, string> = {
  idle: "Not connected",
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};

/** The connection indicator: colour and text (a role=status region, so changes are announced). */
export function showStatus(box: HTMLElement, text: HTMLElement, status: ConnectionStatus): void {
  box.dataset.status = status;
  text.textContent = TEXT[status];
}
