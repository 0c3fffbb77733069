/** Who is calling: resolved from the bearer token by the accounts module, passed to every service. */
export interface Actor {
  accountId: string;
  deviceId: string;
  isAdmin: boolean;
  /** Where and when the request came in (transport sets it): service requests record both. */
  origin?: { ip: string; receivedAt: number };
}
