/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scanner and parser helpers, the arena, the atom table and the parse
 * driver.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy-parse.h"
#include "policy.tab.h"
#include "policy-lex.h"

#define ARENA_BLOCK 8192

gpointer
mom_arena_alloc(MomArena *arena, gsize size)
{
    size = (size + 15) & ~(gsize)15;
    if (size > arena->left) {
        gsize block = MAX(size, ARENA_BLOCK);
        char *mem = g_malloc0(block);
        arena->blocks = g_slist_prepend(arena->blocks, mem);
        arena->cur = mem;
        arena->left = block;
    }
    gpointer p = arena->cur;
    arena->cur += size;
    arena->left -= size;
    return p;
}

void
mom_arena_clear(MomArena *arena)
{
    g_slist_free_full(arena->blocks, g_free);
    *arena = (MomArena){0};
}

guint
mom_atoms_intern(MomAtoms *atoms, const char *name, gsize len)
{
    g_autofree char *key = g_strndup(name, len);
    gpointer found;

    if (g_hash_table_lookup_extended(atoms->index, key, NULL, &found))
        return GPOINTER_TO_UINT(found);
    guint atom = atoms->names->len;
    g_ptr_array_add(atoms->names, key);
    g_hash_table_insert(atoms->index, g_steal_pointer(&key), GUINT_TO_POINTER(atom));
    return atom;
}

void
mom_policy_free(MomPolicy *policy)
{
    if (!policy)
        return;
    if (policy->strings)
        g_ptr_array_free(policy->strings, TRUE);
    mom_arena_clear(&policy->arena);
    g_free(policy->name);
    g_free(policy->text);
    g_free(policy);
}

/* ---- diagnostics -------------------------------------------------------- */

static char *
source_line(const char *text, int line)
{
    if (!text || line < 1)
        return NULL;
    const char *p = text;
    for (int l = 1; l < line; l++) {
        p = strchr(p, '\n');
        if (!p)
            return NULL;
        p++;
    }
    const char *end = strchr(p, '\n');
    gsize len = end ? (gsize)(end - p) : strlen(p);
    if (len > 0 && p[len - 1] == '\r')
        len--;
    return g_strndup(p, len);
}

MomPolicyDiag *
mom_diag_new(MomDiagSeverity severity, const char *file, const char *text, int line, int col,
             int end_col, char *message)
{
    MomPolicyDiag *d = g_new0(MomPolicyDiag, 1);

    d->severity = severity;
    d->file = g_strdup(file);
    d->line = line;
    d->col = col;
    d->end_col = MAX(end_col, col);
    d->message = message;
    d->source_line = source_line(text, line);
    return d;
}

static void
record(MomParseCtx *ctx, const MomLoc *loc, char *message)
{
    ctx->n_errors++;
    if (ctx->n_errors > MOM_POLICY_MAX_DIAGS) {
        g_free(message);
        return;
    }
    int end = loc->last_line == loc->first_line ? loc->last_column : loc->first_column;
    g_ptr_array_add(ctx->diags, mom_diag_new(MOM_DIAG_ERROR, ctx->policy->file, ctx->policy->text,
                                             loc->first_line, loc->first_column, end, message));
}

void
policy_parse_error(MomParseCtx *ctx, const MomLoc *loc, char *message)
{
    record(ctx, loc, message);
}

/* ---- scanner helpers ------------------------------------------------------ */

void
policy_lex_step(MomParseCtx *ctx, MomLoc *loc, const char *text, int len)
{
    loc->first_line = ctx->line;
    loc->first_column = ctx->col;
    for (int i = 0; i < len; i++) {
        loc->last_line = ctx->line;
        loc->last_column = ctx->col;
        if (text[i] == '\n') {
            ctx->line++;
            ctx->col = 1;
        } else {
            ctx->col++;
        }
    }
}

static MomNode *
new_node(MomParseCtx *ctx, MomNodeKind kind, const MomLoc *loc)
{
    MomNode *n = mom_arena_alloc(&ctx->policy->arena, sizeof(MomNode));

    n->kind = kind;
    n->file = ctx->policy->file_index;
    n->line = loc->first_line;
    n->col = loc->first_column;
    n->end_col = loc->last_line == loc->first_line ? loc->last_column : loc->first_column;
    return n;
}

int
policy_lex_int(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int base)
{
    const char *digits = base == 8 ? text + 2 : text;
    char *end;

    errno = 0;
    gint64 v = g_ascii_strtoll(digits, &end, base);
    if (errno == ERANGE) {
        record(ctx, loc,
               g_strdup_printf("integer '%s' does not fit in 64 bits; write it as a float", text));
        v = 0;
    }
    *out = new_node(ctx, MOM_NODE_INT, loc);
    (*out)->u.i = v;
    return NUMBER;
}

int
policy_lex_float(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text)
{
    *out = new_node(ctx, MOM_NODE_FLOAT, loc);
    (*out)->u.d = g_ascii_strtod(text, NULL);
    return NUMBER;
}

int
policy_lex_string(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int len)
{
    /* MOM keeps the raw text between the quotes: backslashes only stop a
     * quote from ending the string, they are not escapes. */
    MomString *s = mom_string_new(text + 1, (gsize)len - 2);

    g_ptr_array_add(ctx->policy->strings, s);
    *out = new_node(ctx, MOM_NODE_STRING, loc);
    (*out)->u.s = s;
    return STRING;
}

int
policy_lex_symbol(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text, int len)
{
    MomAtoms *atoms = &ctx->set->atoms;
    MomNode *n = new_node(ctx, MOM_NODE_SYMBOL, loc);
    const char *dot = memchr(text, '.', len);

    n->u.sym.atom = mom_atoms_intern(atoms, text, len);
    n->u.sym.cache_index = -1;
    if (dot) {
        /* Only two levels are meaningful, as in MOM: "a.b.c" looks up b in a. */
        const char *member = dot + 1;
        const char *member_end = memchr(member, '.', text + len - member);
        if (!member_end)
            member_end = text + len;
        n->u.sym.base = mom_atoms_intern(atoms, text, dot - text);
        n->u.sym.member = mom_atoms_intern(atoms, member, member_end - member);
    } else {
        n->u.sym.base = n->u.sym.atom;
    }
    *out = n;
    return SYMBOL;
}

int
policy_lex_op(MomParseCtx *ctx, MomNode **out, MomLoc *loc, const char *text)
{
    MomNode *n = new_node(ctx, MOM_NODE_OP, loc);

    n->u.sym.atom = mom_atoms_intern(&ctx->set->atoms, text, strlen(text));
    n->form = mom_form_lookup(text);
    *out = n;
    return OPERATOR;
}

int
policy_lex_open(MomParseCtx *ctx, MomLoc *loc, char bracket)
{
    if (ctx->depth == MOM_POLICY_MAX_NESTING) {
        record(ctx, loc,
               g_strdup_printf("brackets are nested more than %d levels deep",
                               MOM_POLICY_MAX_NESTING));
        return MOMPOLICY_error;
    }
    ctx->open[ctx->depth].bracket = bracket;
    ctx->open[ctx->depth].loc = *loc;
    ctx->depth++;
    return bracket == '(' ? OPEN_PAREN : bracket == '[' ? OPEN_BRACKET : OPEN_BRACE;
}

static char
closer_of(char open)
{
    return open == '(' ? ')' : open == '[' ? ']' : '}';
}

int
policy_lex_close(MomParseCtx *ctx, MomLoc *loc, char bracket)
{
    if (ctx->depth == 0) {
        record(ctx, loc, g_strdup_printf("'%c' has no matching opening bracket", bracket));
        return MOMPOLICY_error;
    }
    const MomOpenBracket *open = &ctx->open[ctx->depth - 1];
    if (closer_of(open->bracket) != bracket) {
        record(ctx, loc,
               g_strdup_printf("'%c' does not match the '%c' opened at %d:%d; expected '%c'",
                               bracket, open->bracket, open->loc.first_line, open->loc.first_column,
                               closer_of(open->bracket)));
        return MOMPOLICY_error;
    }
    ctx->depth--;
    return bracket == ')' ? CLOSE_PAREN : bracket == ']' ? CLOSE_BRACKET : CLOSE_BRACE;
}

int
policy_lex_eof(MomParseCtx *ctx, MomLoc *loc)
{
    (void)loc;
    if (ctx->depth > 0) {
        const MomOpenBracket *open = &ctx->open[ctx->depth - 1];
        record(ctx, &open->loc,
               g_strdup_printf("'%c' is never closed; expected '%c' before the end of the file",
                               open->bracket, closer_of(open->bracket)));
        ctx->depth = 0;
        return MOMPOLICY_error;
    }
    return MOMPOLICY_EOF;
}

void
policy_lex_error(MomParseCtx *ctx, MomLoc *loc, const char *message, const char *text, int len)
{
    g_autofree char *shown = g_strndup(text, MIN(len, 40));
    const char *hint = "";

    const char *digits = text[0] == '-' ? text + 1 : text;
    char last = text[len - 1];
    char before = len > 1 ? text[len - 2] : '\0';

    if (digits[0] == '0' && g_ascii_isdigit(digits[1]))
        hint = " (a leading zero is not allowed; write octal as 0o17)";
    else if (last == '.')
        hint = " (write a float with digits after the point, as 1.0)";
    else if (last == 'e' || last == 'E' ||
             ((last == '+' || last == '-') && (before == 'e' || before == 'E')))
        hint = " (an exponent needs digits, as 1e3)";
    record(ctx, loc, g_strdup_printf("%s '%s'%s", message, shown, hint));
}

void
policy_lex_bad_char(MomParseCtx *ctx, MomLoc *loc, unsigned char c)
{
    if (c >= 0x20 && c < 0x7f)
        record(ctx, loc, g_strdup_printf("unexpected character '%c'", c));
    else
        record(ctx, loc,
               g_strdup_printf("unexpected byte 0x%02X; only ASCII is allowed outside strings "
                               "and comments",
                               c));
}

void
policy_lex_bad_utf8(MomParseCtx *ctx, MomLoc *loc, const char *text, int len)
{
    g_autofree char *c = g_strndup(text, len);

    if (!g_utf8_validate(c, len, NULL)) {
        policy_lex_bad_char(ctx, loc, (unsigned char)text[0]);
        return;
    }
    record(ctx, loc,
           g_strdup_printf("unexpected character '%s' (U+%04X); only ASCII is allowed outside "
                           "strings and comments",
                           c, g_utf8_get_char(c)));
}

void
policy_lex_unterminated(MomParseCtx *ctx, MomLoc *loc)
{
    MomLoc start = *loc;

    start.last_line = start.first_line;
    start.last_column = start.first_column;
    record(ctx, &start, g_strdup("unterminated string; the closing quote is missing"));
}

/* ---- tree building -------------------------------------------------------- */

void
policy_seq_append(MomNodeSeq *seq, MomNode *node)
{
    if (!node)
        return;
    node->next = NULL;
    if (seq->tail)
        seq->tail->next = node;
    else
        seq->head = node;
    seq->tail = node;
    seq->n++;
}

static MomNode **
seq_to_array(MomParseCtx *ctx, const MomNodeSeq *seq)
{
    MomNode **items = mom_arena_alloc(&ctx->policy->arena, sizeof(MomNode *) * MAX(seq->n, 1));
    guint i = 0;

    for (MomNode *n = seq->head; n; n = n->next)
        items[i++] = n;
    return items;
}

MomNode *
policy_make_list(MomParseCtx *ctx, char bracket, const MomLoc *loc, MomNodeSeq *seq)
{
    MomNode *n = new_node(ctx, MOM_NODE_LIST, loc);

    n->bracket = bracket;
    /* Underline the bracket and the head: "(foo" in "(foo 1 2)". */
    n->end_col = n->col;
    if (seq->head && seq->head->line == n->line)
        n->end_col = seq->head->end_col;
    n->u.list.items = seq_to_array(ctx, seq);
    n->u.list.n = seq->n;
    if (bracket == '{') {
        n->form = mom_form_lookup("eval");
    } else if (seq->n > 0) {
        MomNode *head = seq->head;
        if (head->kind == MOM_NODE_OP)
            n->form = head->form;
        else if (head->kind == MOM_NODE_SYMBOL && head->u.sym.member == 0)
            n->form = mom_form_lookup(g_ptr_array_index(ctx->set->atoms.names, head->u.sym.atom));
    }
    return n;
}

void
policy_parse_finish(MomParseCtx *ctx, MomNodeSeq *seq)
{
    ctx->policy->top = seq_to_array(ctx, seq);
    ctx->policy->n_top = seq->n;
}

gboolean
mom_policy_parse(MomPolicySet *set, MomPolicy *policy, GPtrArray *diags)
{
    MomParseCtx *ctx = g_new0(MomParseCtx, 1);
    yyscan_t scanner;
    gboolean ok;

    ctx->set = set;
    ctx->policy = policy;
    ctx->diags = diags;
    ctx->line = 1;
    ctx->col = 1;
    policy->strings = g_ptr_array_new_with_free_func((GDestroyNotify)mom_string_unref);

    mompolicy_lex_init_extra(ctx, &scanner);
    YY_BUFFER_STATE buf = mompolicy__scan_bytes(policy->text, (int)strlen(policy->text), scanner);
    int rc = mompolicy_parse(scanner, ctx);
    mompolicy__delete_buffer(buf, scanner);
    mompolicy_lex_destroy(scanner);

    ok = rc == 0 && ctx->n_errors == 0;
    if (ctx->n_errors > MOM_POLICY_MAX_DIAGS)
        g_ptr_array_add(diags, mom_diag_new(MOM_DIAG_NOTE, policy->file, NULL, 0, 0, 0,
                                            g_strdup_printf("%u more errors were not shown",
                                                            ctx->n_errors - MOM_POLICY_MAX_DIAGS)));
    if (!ok && ctx->n_errors == 0)
        record(ctx, &(MomLoc){1, 1, 1, 1}, g_strdup("the policy could not be parsed"));
    g_free(ctx);
    return ok;
}
