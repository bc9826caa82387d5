/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The table of built-in forms (jq style): name, arity and usage.  The
 * evaluator checks arity from here before it dispatches, so every form
 * reports a wrong argument count the same way.
 */
#include "config.h"

#include <string.h>

#include "policy-ast.h"
#include "policy-builtins.h"

#define ANY (-1)

static const MomForm forms[MOM_FORM_COUNT] = {
    [MOM_FORM_DEFVAR] = {"defvar", 2, 2, TRUE, "(defvar NAME VALUE)"},
    [MOM_FORM_SET] = {"set", 2, 2, TRUE, "(set NAME VALUE)"},
    [MOM_FORM_SETQ] = {"setq", 2, 2, TRUE, "(setq NAME VALUE)"},
    [MOM_FORM_DEF] = {"def", 3, 3, TRUE, "(def NAME (PARAMS...) BODY)"},
    [MOM_FORM_DEFUN] = {"defun", 3, 3, TRUE, "(defun NAME (PARAMS...) BODY)"},
    [MOM_FORM_LET] = {"let", 2, ANY, TRUE, "(let ((NAME VALUE)...) BODY...)"},
    [MOM_FORM_WITH] = {"with", 3, 3, TRUE, "(with LIST VAR BODY)"},
    [MOM_FORM_IF] = {"if", 3, 3, TRUE, "(if CONDITION THEN ELSE)"},
    [MOM_FORM_EVAL] = {"eval", 1, ANY, TRUE, "(eval EXPR...)"},
    [MOM_FORM_AND] = {"and", 1, ANY, TRUE, "(and VALUE...)"},
    [MOM_FORM_OR] = {"or", 1, ANY, TRUE, "(or VALUE...)"},
    [MOM_FORM_ADD] = {"+", 2, 2, FALSE, "(+ A B)"},
    [MOM_FORM_SUB] = {"-", 2, 2, FALSE, "(- A B)"},
    [MOM_FORM_MUL] = {"*", 2, 2, FALSE, "(* A B)"},
    [MOM_FORM_DIV] = {"/", 2, 2, FALSE, "(/ A B)"},
    [MOM_FORM_LT] = {"<", 2, 2, FALSE, "(< A B)"},
    [MOM_FORM_GT] = {">", 2, 2, FALSE, "(> A B)"},
    [MOM_FORM_LE] = {"<=", 2, 2, FALSE, "(<= A B)"},
    [MOM_FORM_GE] = {">=", 2, 2, FALSE, "(>= A B)"},
    [MOM_FORM_EQ] = {"==", 2, 2, FALSE, "(== A B)"},
    [MOM_FORM_NE] = {"!=", 2, 2, FALSE, "(!= A B)"},
    [MOM_FORM_SHL] = {"<<", 2, 2, FALSE, "(<< A B)"},
    [MOM_FORM_SHR] = {">>", 2, 2, FALSE, "(>> A B)"},
    [MOM_FORM_NOT] = {"not", 1, 1, FALSE, "(not VALUE)"},
    [MOM_FORM_MIN] = {"min", 1, ANY, FALSE, "(min VALUE...)"},
    [MOM_FORM_MAX] = {"max", 1, ANY, FALSE, "(max VALUE...)"},
    [MOM_FORM_NULL] = {"null", 0, ANY, FALSE, "(null VALUE...)"},
    [MOM_FORM_VALID] = {"valid", 0, ANY, FALSE, "(valid VALUE...)"},
};

guint
mom_form_lookup(const char *name)
{
    for (guint i = 1; i < MOM_FORM_COUNT; i++)
        if (strcmp(forms[i].name, name) == 0)
            return i;
    return MOM_FORM_NONE;
}

const MomForm *
mom_form_get(guint id)
{
    g_return_val_if_fail(id > 0 && id < MOM_FORM_COUNT, NULL);
    return &forms[id];
}
