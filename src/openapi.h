/*
 * GET /openapi.json: the OpenAPI 3.1 description of the API of ebaysync
 * serve (docs/openapi.json, embedded into the binary by cmake/embed.cmake
 * as the web page is). The document is kept by hand beside docs/api.md; a
 * unit test fails when a route of the server's table is missing from it,
 * and the contract tests (tests/contract/api_contract.test.mjs) validate
 * the answers of a running server against it.
 */
#ifndef OPENAPI_H
#define OPENAPI_H

#include <stddef.h>

struct api;
struct api_req;
struct api_res;

#define OPENAPI_FILE "docs/openapi.json"

/* The embedded document (static, NUL-terminated) and its length in *len;
 * NULL when this binary was built without it. */
const char *openapi_document(size_t *len);

/* GET /openapi.json (public): the document as application/json. */
void api_openapi(struct api *api, const struct api_req *req, struct api_res *res);

#endif
