/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "mom-test-fs.h"

void
mom_test_write_file(const char *root, const char *rel, const char *text)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) error = NULL;

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    ck_assert_msg(g_file_set_contents(path, text, -1, &error), "%s", error ? error->message : "?");
}

void
mom_test_copy_tree(const char *from, const char *to)
{
    g_autoptr(GDir) dir = g_dir_open(from, 0, NULL);
    const char *name;

    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(g_mkdir_with_parents(to, 0755), 0);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *src = g_build_filename(from, name, NULL);
        g_autofree char *dst = g_build_filename(to, name, NULL);
        g_autofree char *contents = NULL;
        gsize len;

        if (g_file_test(src, G_FILE_TEST_IS_DIR)) {
            mom_test_copy_tree(src, dst);
            continue;
        }
        ck_assert(g_file_get_contents(src, &contents, &len, NULL));
        ck_assert(g_file_set_contents(dst, contents, len, NULL));
    }
}

void
mom_test_remove_tree(const char *path)
{
    /* first made searchable: a test may have taken the rights away */
    g_chmod(path, 0700);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        mom_test_remove_tree(child);
    }
    g_remove(path);
}
