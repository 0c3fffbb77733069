/**
 * Who has a socket open, across every node. A user is online while any node holds one of their
 * sockets; a node that dies without closing its sockets must not keep them online for ever, so a
 * cluster backend ties each entry to its node's liveness and one surviving node reports the
 * accounts that went offline with it.
 */
export interface PresenceRegistry {
  /** A socket of `accountId` opened on this node; resolves true when it is the account's only one anywhere. */
  connect(accountId: string, connectionId: string): Promise<boolean>;
  /** A socket closed; resolves true when the account has none left on any node. */
  disconnect(accountId: string, connectionId: string): Promise<boolean>;
  /** Which of `accountIds` have a socket on a live node. */
  online(accountIds: string[]): Promise<Set<string>>;
  /** Accounts left with no socket because the node holding their last one stopped without closing it. */
  onOrphaned(handler: (accountIds: string[]) => void): void;
  start(): Promise<void>;
  close(): Promise<void>;
}
