/*
 * Fuzzes POST /sim/config: any JSON (or not) applied to the settings must
 * either be refused with a reason and leave them unchanged, or give
 * settings that are within every option's bounds and print back to JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_config cfg, before;
	struct buf why = BUF_INIT;
	unsigned effects = 0;
	json_t *j;

	sim_config_defaults(&cfg);
	before = cfg;
	if (sim_config_apply_json(&cfg, (const char *)data, size, &effects, &why) != ERR_OK) {
		if (memcmp(&cfg, &before, sizeof(cfg)) || why.len == 0)
			abort();
	} else {
		if (cfg.skus < 0 || cfg.skus > 10000000 || cfg.fault_rate < 0 ||
		    cfg.fault_rate > 1 || cfg.latency_ms < 0 || cfg.token_ttl < 1 ||
		    cfg.listen[sizeof(cfg.listen) - 1] || cfg.token[sizeof(cfg.token) - 1] ||
		    (effects & SIM_CONFIG_STARTUP))
			abort();
		j = sim_config_to_json(&cfg);
		if (!j)
			abort();
		json_decref(j);
	}
	buf_release(&why);
	return 0;
}
