"""Operations in the users' words; each takes its Redis connection as a parameter."""
