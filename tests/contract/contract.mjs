// Validators built from eBay's Sell Inventory OpenAPI contract
// (openapi/sell_inventory_v1_oas3.json, an unmodified copy; see
// openapi/SOURCES.md), made strict so that a renamed or invented field fails:
//
// - every object schema of the contract gets additionalProperties: false;
// - the one documented divergence of the contract from eBay's real payloads is
//   patched: Product.aspects is declared a string but is an object of
//   name -> array of strings (EBAY-API-NOTES.md, and the contract's own
//   SOURCES note);
// - an overlay adds what the contract leaves to prose: required fields the
//   simulator promises, and the enum values eBay documents in its type pages
//   (conditions, formats, statuses, listing statuses, currencies).
//
// Response schemas are taken from the contract's paths (operation, status,
// application/json), not named by hand, so the check follows the contract.
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const specPath = process.env.ES_OPENAPI_FILE || join(here, 'openapi', 'sell_inventory_v1_oas3.json');
export const spec = JSON.parse(readFileSync(specPath, 'utf8'));

export const CONDITIONS = [
  'NEW', 'LIKE_NEW', 'NEW_OTHER', 'NEW_WITH_DEFECTS', 'CERTIFIED_REFURBISHED',
  'EXCELLENT_REFURBISHED', 'VERY_GOOD_REFURBISHED', 'GOOD_REFURBISHED', 'SELLER_REFURBISHED',
  'USED_EXCELLENT', 'USED_VERY_GOOD', 'USED_GOOD', 'USED_ACCEPTABLE', 'FOR_PARTS_OR_NOT_WORKING',
  'PRE_OWNED_EXCELLENT', 'PRE_OWNED_FAIR',
  'MANUFACTURER_REFURBISHED', // deprecated name of CERTIFIED_REFURBISHED, still seen
];
export const LISTING_STATUSES = ['ACTIVE', 'OUT_OF_STOCK', 'INACTIVE', 'ENDED', 'EBAY_ENDED', 'NOT_LISTED'];

// Deep copy of the contract's schemas, strict.
function strictSchemas() {
  const schemas = structuredClone(spec.components.schemas);
  const walk = (s) => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) { s.forEach(walk); return; }
    if (s.properties && s.additionalProperties === undefined) s.additionalProperties = false;
    // The contract's "format"s (int32, double ...) are descriptive only.
    if (typeof s.format === 'string') delete s.format;
    for (const v of Object.values(s)) walk(v);
  };
  walk(schemas);
  schemas.Product.properties.aspects = {
    type: 'object',
    additionalProperties: { type: 'array', minItems: 1, items: { type: 'string' } },
  };
  return schemas;
}

const decimal = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' };
const amount = {
  type: 'object', required: ['value', 'currency'],
  properties: { value: decimal, currency: { enum: ['USD', 'GBP', 'EUR', 'AUD', 'CAD'] } },
};

// What the contract leaves to prose: required fields and enum values.
const overlay = {
  item: {
    type: 'object',
    required: ['sku', 'locale', 'product', 'condition', 'availability'],
    properties: {
      sku: { type: 'string', minLength: 1 },
      condition: { enum: CONDITIONS },
      product: {
        type: 'object', required: ['title', 'aspects'],
        properties: { title: { type: 'string', minLength: 1, maxLength: 80 },
          imageUrls: { type: 'array', maxItems: 10 } },
      },
      availability: {
        type: 'object', required: ['shipToLocationAvailability'],
        properties: { shipToLocationAvailability: { type: 'object', required: ['quantity'],
          properties: { quantity: { type: 'integer', minimum: 0 } } } },
      },
    },
  },
  offer: {
    type: 'object',
    required: ['offerId', 'sku', 'marketplaceId', 'format', 'status', 'availableQuantity',
      'categoryId', 'pricingSummary'],
    properties: {
      marketplaceId: { type: 'string', pattern: '^EBAY_[A-Z]+$' },
      format: { enum: ['FIXED_PRICE', 'AUCTION'] },
      status: { enum: ['PUBLISHED', 'UNPUBLISHED'] },
      pricingSummary: {
        type: 'object',
        properties: { price: amount, auctionStartPrice: amount, auctionReservePrice: amount },
      },
      listing: {
        type: 'object', required: ['listingId', 'listingStatus'],
        properties: { listingStatus: { enum: LISTING_STATUSES } },
      },
    },
    // listing only on published offers
    if: { properties: { status: { const: 'UNPUBLISHED' } } },
    then: { not: { required: ['listing'] } },
    else: { required: ['listing', 'listingStartDate'] },
  },
  error: {
    type: 'object', required: ['errors'], additionalProperties: false,
    properties: {
      errors: {
        type: 'array', minItems: 1,
        items: { allOf: [{ $ref: 'ebay#/components/schemas/Error' },
          { required: ['errorId', 'domain', 'category', 'message'] }] },
      },
    },
  },
  // POST /identity/v1/oauth2/token is not in the OpenAPI files; this is the
  // answer eBay documents for it.
  token: {
    type: 'object', additionalProperties: false,
    required: ['access_token', 'expires_in', 'token_type'],
    properties: {
      access_token: { type: 'string', minLength: 1 },
      expires_in: { type: 'integer', minimum: 1 },
      token_type: { const: 'User Access Token' },
      refresh_token: { type: 'string', minLength: 1 },
      refresh_token_expires_in: { type: 'integer', minimum: 1 },
    },
  },
  tokenError: {
    type: 'object', additionalProperties: false, required: ['error', 'error_description'],
    properties: {
      error: { enum: ['invalid_grant', 'invalid_client', 'invalid_request', 'invalid_scope',
        'unsupported_grant_type'] },
      error_description: { type: 'string' },
    },
  },
};

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
ajv.addSchema({ $id: 'ebay', components: { schemas: strictSchemas() } });

const compiled = new Map();
function compile(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
  return compiled.get(key);
}

// The JSON schema of an operation's answer, from the contract's paths.
export function responseSchemaRef(path, method, status) {
  const op = spec.paths[path]?.[method];
  if (!op) throw new Error(`no ${method} ${path} in the contract`);
  const resp = op.responses[String(status)] ?? op.responses['200'];
  let schema = resp?.content?.['application/json']?.schema;
  if (!schema && status === 207) schema = op.responses['200'].content['application/json'].schema;
  if (!schema?.$ref) throw new Error(`no JSON schema for ${method} ${path} ${status}`);
  return `ebay${schema.$ref}`;
}

function schemaFor(path, method, status) {
  const ref = responseSchemaRef(path, method, status);
  const extra = { '/inventory_item/{sku}': { $ref: '#/$defs/item' },
    '/offer/{offerId}': { $ref: '#/$defs/offer' },
    '/inventory_item': { properties: { inventoryItems: { items: { $ref: '#/$defs/item' } } } },
    '/offer': { properties: { offers: { items: { $ref: '#/$defs/offer' } } } } }[path] ?? {};
  return { $defs: { item: overlay.item, offer: overlay.offer }, allOf: [{ $ref: ref }, extra] };
}

function explain(validate) {
  return ajv.errorsText(validate.errors, { separator: '\n  ' });
}

// Throws when body does not match the contract's answer to path/method/status.
export function checkResponse(path, method, status, body) {
  const v = compile(`${method} ${path} ${status}`, schemaFor(path, method, status));
  if (!v(body)) throw new Error(`${method} ${path} ${status} breaks the contract:\n  ${explain(v)}`);
}

export function checkSchema(name, body) {
  const schema = name === 'item'
    ? { allOf: [{ $ref: 'ebay#/components/schemas/InventoryItemWithSkuLocaleGroupid' }, overlay.item] }
    : name === 'offer'
      ? { allOf: [{ $ref: 'ebay#/components/schemas/EbayOfferDetailsWithAll' }, overlay.offer] }
      : overlay[name];
  const v = compile(`schema ${name}`, schema);
  if (!v(body)) throw new Error(`${name} breaks the contract:\n  ${explain(v)}`);
}
