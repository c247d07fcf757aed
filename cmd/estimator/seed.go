package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"

	"estimator/store"
)

// seedCmd fills the database with a realistic demo data set: users, groups with
// members, issues in every state, and estimates. Load tests and demos use it.
func seedCmd(ctx context.Context, cfg *config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	users := fs.Int("users", 500, "users to create")
	groups := fs.Int("groups", 100, "groups to create")
	issues := fs.Int("issues", 2000, "issues to create, spread over the groups")
	members := fs.Int("members", 10, "members per group, owner included")
	seed := fs.Uint64("seed", 1, "random seed, for a repeatable data set")
	// Global flags that matter here may follow "seed" too, as for the other subcommands.
	fs.StringVar(&cfg.db, "db", cfg.db, "SQLite database file (ESTIMATOR_DB)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // usage already printed
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *users < 1 || *groups < 0 || *issues < 0 || *members < 1 || *members > *users {
		return fmt.Errorf("%w: seed needs users ≥ 1 and 1 ≤ members ≤ users", errUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	sum, err := store.Seed(ctx, st, store.SeedSpec{Users: *users, Groups: *groups, Issues: *issues, Members: *members,
		Rand: rand.New(rand.NewPCG(*seed, *seed))})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s: %d users, %d groups, %d memberships, %d issues, %d estimates\n",
		cfg.db, sum.Users, sum.Groups, sum.Memberships, sum.Issues, sum.Estimates)
	return nil
}
