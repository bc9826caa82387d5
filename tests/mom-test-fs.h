/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * File-tree helpers for the check tests: fixture trees under a temporary
 * directory, written, copied and removed.  Failures are check assertions.
 */
#pragma once

/**
 * mom_test_write_file:
 * Writes @text to @root/@rel, creating the directories on the way.
 */
void mom_test_write_file(const char *root, const char *rel, const char *text);

/** mom_test_copy_tree: Copies the directory tree @from to @to (created). */
void mom_test_copy_tree(const char *from, const char *to);

/**
 * mom_test_remove_tree:
 * Removes @path and everything under it, also what a test made read-only
 * or unsearchable; a missing @path is not an error.
 */
void mom_test_remove_tree(const char *path);
