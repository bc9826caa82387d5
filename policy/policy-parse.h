/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal: the glue between the flex scanner, the bison parser and the
 * syntax tree.  The scanner and parser call these helpers so that the .l
 * and .y files stay declarative.
 */
#pragma once

#include <glib.h>

#include "policy-ast.h"

/* Deepest bracket nesting accepted; bounds the parser's and evaluator's recursion. */
#define MOM_POLICY_MAX_NESTING 256
/* A file with this many errors stops being scanned: the rest is noise. */
#define MOM_POLICY_MAX_DIAGS 20

typedef struct {
    int first_line;
    int first_column;
    int last_line;
    int last_column;
} MomLoc;

typedef struct {
    MomNode *head;
    MomNode *tail;
    guint n;
} MomNodeSeq;

typedef struct {
    char bracket;
    MomLoc loc;
} MomOpenBracket;

typedef struct {
    MomPolicySet *set;
    MomPolicy *policy;
    GPtrArray *diags;
    guint n_errors;
    int line; /* position of the next byte to scan */
    int col;
    MomOpenBracket open[MOM_POLICY_MAX_NESTING];
    guint depth;
} MomParseCtx;

/** policy_lex_step: Advances the location over a matched token. */
void policy_lex_step(MomParseCtx *ctx, MomLoc *loc, const char *text, int len);
/** policy_lex_int: Returns: NUMBER with an integer node, or YYerror-free 0 on overflow (error
 * recorded). */
int policy_lex_int(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int base);
/** policy_lex_float: Returns: NUMBER with a float node. */
int policy_lex_float(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text);
/** policy_lex_string: Returns: STRING with the raw text between the quotes. */
int policy_lex_string(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int len);
/** policy_lex_symbol: Returns: SYMBOL with interned atoms. */
int policy_lex_symbol(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int len);
/** policy_lex_op: Returns: OPERATOR. */
int policy_lex_op(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text);
/** policy_lex_open: Returns: the opening bracket token, or the error token when nesting is too
 * deep. */
int policy_lex_open(MomParseCtx *ctx, MomLoc *loc, char bracket);
/** policy_lex_close: Returns: the closing bracket token, or the error token on a mismatch. */
int policy_lex_close(MomParseCtx *ctx, MomLoc *loc, char bracket);
/** policy_lex_eof: Returns: end of input, or the error token when a bracket is left open. */
int policy_lex_eof(MomParseCtx *ctx, MomLoc *loc);
/** policy_lex_error: Records "MESSAGE 'TEXT'" at @loc. */
void policy_lex_error(MomParseCtx *ctx, MomLoc *loc, const char *message, const char *text,
                      int len);
/** policy_lex_bad_char: Records a byte that starts no token. */
void policy_lex_bad_char(MomParseCtx *ctx, MomLoc *loc, unsigned char c);
/** policy_lex_bad_utf8: Records a non-ASCII character (a UTF-8 sequence) outside strings. */
void policy_lex_bad_utf8(MomParseCtx *ctx, MomLoc *loc, const char *text, int len);
/** policy_lex_unterminated: Records a string that runs to the end of the file. */
void policy_lex_unterminated(MomParseCtx *ctx, MomLoc *loc);

/** policy_seq_append: Appends @node to @seq. */
void policy_seq_append(MomNodeSeq *seq, MomNode *node);
/** policy_make_list: Returns: a list node of @seq's items opened by @bracket at @loc. */
MomNode *policy_make_list(MomParseCtx *ctx, char bracket, const MomLoc *loc, MomNodeSeq *seq);
/** policy_parse_finish: Stores the top-level expressions in the policy. */
void policy_parse_finish(MomParseCtx *ctx, MomNodeSeq *seq);
/** policy_parse_error: Records @message (taken) at @loc. */
void policy_parse_error(MomParseCtx *ctx, const MomLoc *loc, char *message);
