import type { InboundSms } from '../../channels/channel.js';
import type { Channels } from '../../channels/index.js';
import { AppError } from '../../errors.js';
import type { Gateway } from '../../protocol/orders.js';
import type { ReplyContent } from '../../protocol/services.js';
import type { Db } from '../../storage/db.js';
import type { ServiceAccountsService, ServicePlugin } from '../services/index.js';
import { HELP_TEXT, parseCommand } from './commands.js';
import { formatPrice } from './notices.js';
import type { OrdersService } from './orders.service.js';

/**
 * The order gateways besides HTTP: SMS to the short code (MO over SMPP or the HTTP gateway) and
 * chat messages to the operator's orders service account. Both read the same commands; answers go
 * back the way the command came, and order notices through the channel the order chose.
 */
export class OrderGateways {
  constructor(
    private readonly db: Db,
    private readonly orders: OrdersService,
    private readonly channels: Channels,
    private readonly shortCode: string,
    private readonly log: (msg: string, detail: Record<string, unknown>) => void,
  ) {}

  /** The in-process handler of the orders service account (chat gateway). */
  readonly plugin: ServicePlugin = {
    handle: async (task) => {
      // The request id makes a re-dispatched ORDER (after a crash) find the order it made.
      const texts = await this.run(task.user.accountId, task.text, 'im', `chat:${task.id}`);
      return texts.map((text): ReplyContent => ({ type: 'text', text }));
    },
  };

  /** Registers the chat handler and creates the operator's orders service account (`handle`) unless it exists. */
  async start(serviceAccounts: ServiceAccountsService, handle: string): Promise<void> {
    serviceAccounts.registerPlugin('orders', this.plugin);
    if (!handle) return;
    const existing = await this.db
      .selectFrom('accounts')
      .leftJoin('services', 'services.account_id', 'accounts.id')
      .select(['accounts.id', 'services.plugin'])
      .where('accounts.handle', '=', handle)
      .executeTakeFirst();
    if (existing) {
      // An install where someone already has the handle keeps running, without the chat gateway.
      if (existing.plugin !== 'orders') this.log('orders chat gateway disabled: the handle belongs to another account', { handle, setting: 'PARLEY_ORDER_SERVICE_HANDLE' });
      return;
    }
    try {
      await serviceAccounts.create(null, { handle, displayName: 'Orders', description: 'Order services: ORDER <code>, then the code you receive. STOP <code> cancels.', handler: { type: 'plugin', name: 'orders' } });
    } catch (err) {
      // Another node created it at the same moment.
      if (!(err instanceof AppError && err.code === 'HANDLE_TAKEN')) throw err;
    }
  }

  /** An inbound SMS: taken when it is addressed to the short code (any number when none is set). */
  async onSms(sms: InboundSms): Promise<void> {
    if (this.shortCode && digits(sms.to) !== digits(this.shortCode)) return;
    const account = await this.db.selectFrom('accounts').select('id').where('phone', '=', sms.from).where('phone_verified_at', 'is not', null).executeTakeFirst();
    if (!account) {
      if (parseCommand(sms.text).kind !== 'help') await this.channels.sms.send({ to: sms.from, text: 'This number is not linked to a verified account; add it in the app first.', purpose: 'order' });
      return;
    }
    const texts = await this.run(account.id, sms.text, 'sms', null);
    for (const text of texts) await this.channels.sms.send({ to: sms.from, text, purpose: 'order' });
  }

  /** Runs one command; returns the answers for the gateway it came through (order notices travel on their own). */
  private async run(userId: string, text: string, gateway: Exclude<Gateway, 'http'>, clientId: string | null): Promise<string[]> {
    const via = { gateway, actorId: userId };
    const command = parseCommand(text);
    try {
      switch (command.kind) {
        case 'order': {
          const { value, replies } = await this.orders.requestVia(userId, { service: command.service, ...(command.channel ? { channel: command.channel } : {}), ...(clientId ? { clientId } : {}) }, via);
          if (replies.length) return replies;
          if (value.duplicate) return [`You already ordered ${value.order.service.name} (${value.order.status}).`];
          // The notice went by SMS or e-mail: say so where the request came from (not for SMS, which is the same place).
          return gateway === 'sms' && value.order.channel === 'sms' ? [] : [`${interactionText(value.interaction)} Check your ${value.order.channel === 'sms' ? 'SMS' : value.order.channel === 'email' ? 'e-mail' : 'messages'}.`];
        }
        case 'code':
          return (await this.orders.confirmAny(userId, command.code, via)).replies;
        case 'resend': {
          const [pending] = (await this.orders.openOrders(userId, null)).filter((o) => o.status === 'pending');
          if (!pending) return ['No order is waiting for a code.'];
          return (await this.orders.resendVia(userId, pending.id, via)).replies;
        }
        case 'stop': {
          const open = await this.orders.openOrders(userId, command.service);
          if (open.length === 0) return [command.service ? `Nothing to stop for ${command.service}.` : 'You have no open orders or subscriptions.'];
          const replies: string[] = [];
          for (const order of open) replies.push(...(await this.orders.cancelVia(order.id, via)).replies);
          return gateway === 'sms' && replies.length === 0 ? [] : replies.length ? replies : [`Cancelled ${open.map((o) => `${o.service_name} (${formatPrice(o)})`).join(', ')}.`];
        }
        case 'help':
          return gateway === 'sms' ? [] : [HELP_TEXT];
      }
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return [errorText(err)];
    }
  }
}

function interactionText(interaction: string): string {
  return interaction === 'ordered' ? 'Ordered.' : interaction === 'verification' ? 'A code is on its way to confirm your order.' : 'Your order was refused.';
}

function errorText(err: AppError): string {
  switch (err.code) {
    case 'CATALOGUE_SERVICE_NOT_FOUND':
      return `There is no service ${(err.details as { code?: string } | undefined)?.code ?? ''} to order.`.replace('  ', ' ');
    case 'ORDER_CODE_REJECTED':
      return 'That code does not confirm an order.';
    case 'TOO_MANY_ATTEMPTS':
      return 'Too many wrong codes for this order; order again for a new code.';
    case 'ORDER_CODES_LOCKED':
      return 'Too many wrong codes; try again later.';
    case 'RESEND_LIMIT_REACHED':
      return 'No more codes for this order; order again later.';
    default:
      return err.message;
  }
}

function digits(number: string): string {
  return number.replace(/\D/g, '');
}
