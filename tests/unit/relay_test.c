/*
 * relay_test.c: the fan-out tree of relay.h: the heap layout (every
 * position has one parent, children in order, at most k each) and the
 * HELLO "tree" a root gets.
 */
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "test.h"

/* Every position is a child of its parent, at most k per parent. */
static void
test_layout(void)
{
	int k, p, n = 200, count[201];
	long first;

	for (k = 1; k <= 33; k++) {
		memset(count, 0, sizeof(count));
		for (p = 0; p < n; p++) {
			int up = lch_tree_parent(p, k);

			CHECK(up >= -1 && up < p);
			first = lch_tree_first(up, k);
			CHECK(p >= first && p < first + k);
			count[up + 1]++;
		}
		for (p = 0; p <= n; p++)
			CHECK(count[p] <= k);
		CHECK_INT(count[0], k < n ? k : n);	/* the head's roots */
	}
	CHECK_INT(lch_tree_first(-1, 32), 0);
	CHECK_INT(lch_tree_first(0, 2), 2);
	CHECK_INT(lch_tree_first(2, 2), 6);
	CHECK_INT(lch_tree_parent(6, 2), 2);
	CHECK_INT(lch_tree_parent(1023, 1024), -1);
	CHECK_INT(lch_tree_parent(1024, 1024), 0);
	CHECK_INT(lch_tree_first(1023, 1024), 1024L * 1024);
	/* subtree sizes: 1 + the children's; the roots' add up to n */
	for (k = 1; k <= 5; k++) {
		long sum = 0;
		int c;

		for (p = 0; p < n; p++) {
			long want = 1;

			first = lch_tree_first(p, k);
			for (c = 0; c < k && first + c < n; c++)
				want += lch_tree_size((int)first + c, k, n);
			CHECK_INT(lch_tree_size(p, k, n), want);
			if (lch_tree_parent(p, k) < 0)
				sum += lch_tree_size(p, k, n);
		}
		CHECK_INT(sum, n);
	}
	CHECK_INT(lch_tree_size(0, 1024, 1 << 20), 1 + 1024);
	CHECK_INT(lch_tree_size(0, 1, 1 << 20), 1 << 20);
	CHECK_INT(lch_tree_size(5, 2, 3), 0);
	/* a tree no deeper than LCH_TREE_DEPTH_MAX */
	CHECK_INT(lch_tree_fanout(200, 1), 1);
	CHECK_INT(lch_tree_fanout(201, 1), 2);
	CHECK_INT(lch_tree_fanout(1 << 20, 1), 2);
	CHECK_INT(lch_tree_fanout(1 << 20, 32), 32);
	CHECK_INT(lch_tree_fanout(0, 7), 7);
}

/* 7 remote nodes, fan-out 2: the roots 0 and 1, 6 below 2 below 0. */
static void
test_encode(void)
{
	struct lch_tree_ent e[7];
	static const char *hosts[] = { "a", "b", "c", "d", "e", "f", "g" };
	char *s;
	int i;

	for (i = 0; i < 7; i++)
		e[i] = (struct lch_tree_ent){ i + 1, hosts[i], i == 0 };
	s = lch_tree_encode(e, 7, 2, 0);
	CHECK_STR(s, "[{\"node\":3,\"host\":\"c\",\"ports\":0,\"tree\":"
	    "[{\"node\":7,\"host\":\"g\",\"ports\":0}]},"
	    "{\"node\":4,\"host\":\"d\",\"ports\":0}]");
	free(s);
	s = lch_tree_encode(e, 7, 2, 1);
	CHECK_STR(s, "[{\"node\":5,\"host\":\"e\",\"ports\":0},"
	    "{\"node\":6,\"host\":\"f\",\"ports\":0}]");
	free(s);
	CHECK(lch_tree_encode(e, 7, 2, 3) == NULL);	/* a leaf */
	CHECK(lch_tree_encode(e, 7, 8, 0) == NULL);	/* all roots */
	s = lch_tree_encode(e, 2, 8, -1);
	CHECK_STR(s, "[{\"node\":1,\"host\":\"a\",\"ports\":1},"
	    "{\"node\":2,\"host\":\"b\",\"ports\":0}]");
	free(s);
	CHECK(lch_relay_wanted("{\"hello\":1,\"node\":0,\"tree\":[{}]}"));
	CHECK(!lch_relay_wanted("{\"hello\":1,\"node\":0,\"tree\":[]}"));
	CHECK(!lch_relay_wanted("{\"hello\":1,\"node\":0}"));
	CHECK(!lch_relay_wanted("not json"));
}

TEST_LIST = {
	{ "layout", test_layout },
	{ "encode", test_encode },
	{ NULL, NULL }
};
