/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internal: the built-in forms and operators, in the order of their table. */
#pragma once

typedef enum {
    MOM_FORM_NONE = 0,
    MOM_FORM_DEFVAR,
    MOM_FORM_SET,
    MOM_FORM_SETQ,
    MOM_FORM_DEF,
    MOM_FORM_DEFUN,
    MOM_FORM_LET,
    MOM_FORM_WITH,
    MOM_FORM_IF,
    MOM_FORM_EVAL,
    MOM_FORM_AND,
    MOM_FORM_OR,
    MOM_FORM_ADD,
    MOM_FORM_SUB,
    MOM_FORM_MUL,
    MOM_FORM_DIV,
    MOM_FORM_LT,
    MOM_FORM_GT,
    MOM_FORM_LE,
    MOM_FORM_GE,
    MOM_FORM_EQ,
    MOM_FORM_NE,
    MOM_FORM_SHL,
    MOM_FORM_SHR,
    MOM_FORM_NOT,
    MOM_FORM_MIN,
    MOM_FORM_MAX,
    MOM_FORM_NULL,
    MOM_FORM_VALID,
    MOM_FORM_COUNT
} MomFormId;
