// The router: picks the route for a request by its host (the listener's default route when no
// host matches), or answers NO_ROUTE. It only chooses; forwarding happens after the chain.
import type { FilterExchange, FilterOutcome, HttpFilter, HttpFilterFactory, FilterBuildContext } from './http-filter.js';
import { CONTINUE } from './http-filter.js';

const noRoute: FilterOutcome = { code: 'NO_ROUTE' };

class RouterFilter implements HttpFilter {
  constructor(private readonly context: FilterBuildContext) {}

  decodeHeaders(exchange: FilterExchange): FilterOutcome {
    const route = this.context.routesByHost.get(exchange.authority) ?? this.context.defaultRoute;
    if (route === undefined) return noRoute;
    exchange.route = route;
    return CONTINUE;
  }
}

export const routerFilter: HttpFilterFactory = {
  name: 'router',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  terminal: true,
  create: (_config, context) => new RouterFilter(context),
  // Every chain ends with the router.
  fromSnapshot: () => ({}),
};
