/*
 * Serves the embedded OpenAPI document (see openapi.h). The bytes go out
 * as they are in the repository, so what a viewer loads is what the tests
 * validated.
 */
#include "openapi.h"

#include "api.h"
#include "embed.h"
#include "banned.h"

const char *openapi_document(size_t *len)
{
	const struct embed_file *f = embed_find(OPENAPI_FILE);

	*len = f ? f->len : 0;
	return f ? (const char *)f->data : NULL;
}

void api_openapi(struct api *api, const struct api_req *req, struct api_res *res)
{
	size_t len;
	const char *doc = openapi_document(&len);

	if (!doc) {
		api_res_error(res, 404, "not_found", "this binary was built without %s",
			      OPENAPI_FILE);
		return;
	}
	buf_reset(&res->body);
	buf_add(&res->body, doc, len);
	res->status = 200;
	res->content_type = "application/json";
}
