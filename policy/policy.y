/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MOM policy language grammar: a program is a sequence of values, a
 * value is an atom or a bracketed list.  Bracket matching is checked by the
 * scanner, which can name both brackets of a mismatch; the parser only
 * builds the tree.  Nodes live in the policy's arena, so no symbol owns heap
 * memory that a %destructor would have to free.
 */
%code top {
#include "config.h"
}

%code requires {
#include "policy-parse.h"
}

%code {
int mompolicy_lex(MOMPOLICY_STYPE *lval, MomLoc *lloc, void *scanner);
static void mompolicy_error(MomLoc *lloc, void *scanner, MomParseCtx *ctx,
                            const char *msg);
}

%define api.pure full
%define api.prefix {mompolicy_}
%define parse.error custom
%locations
%define api.location.type {MomLoc}
%param {void *scanner}
%parse-param {MomParseCtx *ctx}

%union {
    MomNode *node;
    MomNodeSeq seq;
}

%token <node> NUMBER STRING SYMBOL OPERATOR
%token OPEN_PAREN "(" CLOSE_PAREN ")" OPEN_BRACKET "[" CLOSE_BRACKET "]"
%token OPEN_BRACE "{" CLOSE_BRACE "}"
%type <node> value list
%type <seq> values

%%

program
    : values                 { policy_parse_finish(ctx, &$1); }
    ;

values
    : %empty                 { $$ = (MomNodeSeq){NULL, NULL, 0}; }
    | values value           { $$ = $1; policy_seq_append(&$$, $2); }
    ;

value
    : NUMBER | STRING | SYMBOL | OPERATOR | list
    ;

list
    : "(" values ")"         { $$ = policy_make_list(ctx, '(', &@1, &$2); }
    | "[" values "]"         { $$ = policy_make_list(ctx, '[', &@1, &$2); }
    | "{" values "}"         { $$ = policy_make_list(ctx, '{', &@1, &$2); }
    ;

%%

/* Only reached if the scanner let an unbalanced bracket through. */
static int
yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner, MomParseCtx *ctx)
{
    (void)scanner;
    policy_parse_error(ctx, yypcontext_location(yyctx),
                       g_strdup_printf("unexpected %s", yysymbol_name(yypcontext_token(yyctx))));
    return 0;
}

static void
mompolicy_error(MomLoc *lloc, void *scanner, MomParseCtx *ctx, const char *msg)
{
    (void)scanner;
    policy_parse_error(ctx, lloc, g_strdup(msg));
}
