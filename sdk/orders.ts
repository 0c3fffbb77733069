import type { AdjustmentBody, CatalogueBody, CatalogueServiceView, CatalogueUpdateBody, ConsentEntry, OrderBody, OrderResult, OrderView, ProviderCreditEntry, ProviderCreditView } from '../src/protocol/orders.js';
import type { ParleyClient } from './client.js';

/** Ordering providers' services (docs/orders.md), from the client's side. */
export class OrdersApi {
  constructor(private readonly client: ParleyClient) {}

  async publish(input: CatalogueBody): Promise<CatalogueServiceView> {
    return (await this.client.request<{ service: CatalogueServiceView }>('POST', '/v1/catalogue', input)).service;
  }
  async updateService(code: string, input: CatalogueUpdateBody): Promise<CatalogueServiceView> {
    return (await this.client.request<{ service: CatalogueServiceView }>('PATCH', `/v1/catalogue/${encodeURIComponent(code)}`, input)).service;
  }
  /** Services that can be ordered; `withdrawn` adds a provider's withdrawn ones (for the provider itself and administrators). */
  async catalogue(provider?: string, options: { withdrawn?: boolean } = {}): Promise<CatalogueServiceView[]> {
    return (await this.client.request<{ services: CatalogueServiceView[] }>('GET', '/v1/catalogue', undefined, { provider, withdrawn: options.withdrawn ? 'true' : undefined })).services;
  }
  order(input: OrderBody): Promise<OrderResult> {
    return this.client.request('POST', '/v1/orders', input);
  }
  async list(role: 'user' | 'provider' = 'user'): Promise<OrderView[]> {
    return (await this.client.request<{ orders: OrderView[] }>('GET', '/v1/orders', undefined, { role })).orders;
  }
  async get(id: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('GET', `/v1/orders/${id}`)).order;
  }
  async confirm(id: string, code: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('POST', `/v1/orders/${id}/confirm`, { code })).order;
  }
  async resend(id: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('POST', `/v1/orders/${id}/resend`)).order;
  }
  async cancel(id: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('POST', `/v1/orders/${id}/cancel`)).order;
  }
  async complain(id: string, reason: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('POST', `/v1/orders/${id}/complaint`, { reason })).order;
  }
  async refund(id: string): Promise<OrderView> {
    return (await this.client.request<{ order: OrderView }>('POST', `/v1/orders/${id}/refund`)).order;
  }
  async consent(id: string): Promise<ConsentEntry[]> {
    return (await this.client.request<{ entries: ConsentEntry[] }>('GET', `/v1/orders/${id}/consent`)).entries;
  }
  async credit(provider: string): Promise<ProviderCreditView> {
    return (await this.client.request<{ credit: ProviderCreditView }>('GET', `/v1/providers/${encodeURIComponent(provider)}/credit`)).credit;
  }
  /** Every provider's credit (administrators). */
  async providers(): Promise<ProviderCreditEntry[]> {
    return (await this.client.request<{ providers: ProviderCreditEntry[] }>('GET', '/v1/providers')).providers;
  }
  async adjust(provider: string, input: AdjustmentBody): Promise<ProviderCreditView> {
    return (await this.client.request<{ credit: ProviderCreditView }>('PUT', `/v1/providers/${encodeURIComponent(provider)}/credit/adjustment`, input)).credit;
  }
}
