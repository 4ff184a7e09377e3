// Puts the page's graphql-ws connections under the test's control (Playwright
// routeWebSocket): hold back server messages matching a pattern (to look at a
// state that would otherwise flash by), drop the connection, refuse reconnects.
import type { Page, WebSocketRoute } from 'playwright-core';

export interface WsControl {
  /** Server messages matching this are kept until release(). */
  hold(pattern: RegExp): void;
  release(): void;
  /** Closes every open connection, as a network loss would. */
  drop(): void;
  /** While true, new connections are refused at once (the service seems down). */
  refuse: boolean;
  /** Connections the page opened so far. */
  readonly opened: number;
}

export async function controlWebSockets(page: Page): Promise<WsControl> {
  const open = new Set<WebSocketRoute>();
  let held: { pattern: RegExp; messages: [WebSocketRoute, string | Buffer][] } | null = null;
  let opened = 0;
  const control: WsControl = {
    refuse: false,
    get opened() {
      return opened;
    },
    hold(pattern) {
      held = { pattern, messages: [] };
    },
    release() {
      const messages = held?.messages ?? [];
      held = null;
      for (const [ws, message] of messages) ws.send(message);
    },
    drop() {
      for (const ws of open) void ws.close({ code: 1001, reason: 'test: connection lost' });
      open.clear();
    },
  };
  await page.routeWebSocket(/\/graphql$/, (ws) => {
    opened++;
    if (control.refuse) return void ws.close({ code: 1013, reason: 'test: try again later' });
    open.add(ws);
    const server = ws.connectToServer();
    // Page -> server flows untouched; server -> page through the hold.
    server.onMessage((message) => {
      if (held && held.pattern.test(String(message))) held.messages.push([ws, message]);
      else ws.send(message);
    });
    ws.onClose(() => (open.delete(ws), void server.close()));
    server.onClose(() => (open.delete(ws), void ws.close()));
  });
  return control;
}
