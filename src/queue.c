/*
 * The job queue's policy above the store (see queue.h): options to and
 * from JSON, enqueueing a run, and what an outcome means for a job.
 */
#include "queue.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "timeutil.h"
#include "xalloc.h"
#include "banned.h"

char *queue_opts_json(int resume, const char *const *skus, size_t n_skus, int report_only)
{
	json_t *o = json_object(), *arr = json_array();
	char *text;

	for (size_t i = 0; i < n_skus; i++)
		json_array_append_new(arr, json_string(skus[i]));
	json_object_set_new(o, "resume", json_boolean(resume));
	json_object_set_new(o, "report_only", json_boolean(report_only));
	json_object_set_new(o, "skus", arr);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		abort(); /* only out of memory */
	return text;
}

void queue_opts_release(struct queue_opts *o)
{
	for (size_t i = 0; i < o->n_skus; i++)
		free(o->skus[i]);
	free(o->skus);
	memset(o, 0, sizeof(*o));
}

enum error queue_opts_parse(const char *json, struct queue_opts *out, struct buf *why)
{
	json_t *o = json ? json_loads(json, 0, NULL) : NULL, *skus, *v;
	enum error err = ERR_PARSE;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(o)) {
		buf_addf(why, "the job's options are not a JSON object");
		goto out;
	}
	skus = json_object_get(o, "skus");
	if (skus && (!json_is_array(skus) || json_array_size(skus) > QUEUE_SKUS_MAX)) {
		buf_addf(why, "the job's skus are not an array of at most %d", QUEUE_SKUS_MAX);
		goto out;
	}
	out->resume = json_is_true(json_object_get(o, "resume"));
	out->report_only = json_is_true(json_object_get(o, "report_only"));
	out->skus = xcalloc(json_array_size(skus) + 1, sizeof(*out->skus));
	json_array_foreach(skus, i, v)
	{
		if (!json_is_string(v) || !*json_string_value(v)) {
			buf_addf(why, "SKU %zu of the job is not a non-empty string", i + 1);
			queue_opts_release(out);
			goto out;
		}
		out->skus[out->n_skus++] = xstrdup(json_string_value(v));
	}
	err = ERR_OK;
out:
	json_decref(o);
	return err;
}

enum error queue_enqueue(struct store *s, const char *user, enum sync_kind kind,
			 const char *options, long long max_attempts, char **run_id,
			 struct buf *why)
{
	struct run_row run;
	struct job_row job;
	enum error err;

	*run_id = sync_new_run_id(kind);
	memset(&run, 0, sizeof(run));
	memset(&job, 0, sizeof(job));
	run.id = *run_id;
	run.user_id = (char *)user;
	run.kind = (char *)sync_kind_name(kind);
	run.status = (char *)STORE_RUN_QUEUED;
	job.options = (char *)options;
	job.max_attempts = max_attempts > 0 ? max_attempts : QUEUE_MAX_ATTEMPTS;
	job.created_ms = timeutil_wall_ms();
	err = store_job_enqueue(s, &run, &job);
	if (err) {
		buf_addf(why, "%s", store_errmsg(s));
		FREE_AND_NULL(*run_id);
	}
	return err;
}

const char *queue_final_state(enum error result)
{
	return result == ERR_OK		 ? STORE_JOB_DONE
	       : result == ERR_CANCELLED ? STORE_JOB_CANCELLED
					 : STORE_JOB_FAILED;
}

int queue_resumes(enum sync_kind kind, int resumed, int asked)
{
	if (asked)
		return 1;
	return resumed && (kind == SYNC_OFFERS || kind == SYNC_ALL);
}

char *queue_worker_name(const char *process, int slot)
{
	return xasprintf("%s:%d", process, slot);
}
