/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small JSON writer.  json-glib prints doubles with 17 digits
 * (3984588.8 becomes 3984588.7999999998); operators compare these numbers
 * with what the policy computed, so we print the shortest exact form.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "mom-policy.h"

/** mom_json_append_string: Appends @s as a JSON string literal to @out. */
void mom_json_append_string(GString *out, const char *s);

/**
 * mom_json_append_value:
 * Appends a policy value as JSON: integers stay integers, floats keep the
 * shortest exact form (non-finite floats become the strings "inf", "-inf",
 * "nan"), lists become arrays, entities and functions their printed name.
 */
void mom_json_append_value(GString *out, const MomValue *v);

/**
 * mom_json_node_to_string:
 * Writes a json-glib node as indented JSON, with doubles in their shortest
 * exact form (json-glib's own generator prints 2202009.6000000001).
 * Returns: (transfer full) the text, without a final newline.
 */
char *mom_json_node_to_string(JsonNode *node);
