/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * geohash.h — the arithmetic of Redis's geo sets (cmd_geo.c holds the
 * commands): a point (longitude, latitude) is a cell of a 2^26 x 2^26 grid
 * over longitudes -180..180 and latitudes -85.05112878..85.05112878 (what
 * Web Mercator can show), and the cell's number — its latitude and
 * longitude bits interleaved, latitude in the even bits — is the sorted-set
 * score, so nearby points have nearby scores.
 *
 * A search covers its shape with the cell holding the centre and its eight
 * neighbours, at the finest grid (step) whose cells are still wider than
 * the shape, and reads each cell's range of scores. Everything here
 * reproduces redis-server 7.0's floating-point steps operation for
 * operation, so that a point on the edge of a search is found (or not) as
 * Redis finds it, and distances print the same digits.
 *
 * No server state: pure functions of their arguments.
 */
#ifndef COWKV_GEOHASH_H
#define COWKV_GEOHASH_H

#include <stdbool.h>
#include <stdint.h>

#define GEO_STEP_MAX 26                 /* 26 bits per axis: 52-bit scores */
#define GEO_LAT_MIN (-85.05112878)
#define GEO_LAT_MAX 85.05112878
#define GEO_LONG_MIN (-180.0)
#define GEO_LONG_MAX 180.0

struct geo_range {
	double min, max;
};

/* A cell of the grid at some step (bits: 2 * step interleaved bits). The
 * cell { 0, 0 } means "no cell" (a neighbour left out of a search). */
struct geo_cell {
	uint64_t bits;
	unsigned step;
};

/* The rectangle a cell covers, in degrees. */
struct geo_area {
	struct geo_range lon, lat;
};

/* The two search shapes and what a search derives from them. */
enum geo_shape_type { GEO_CIRCLE = 1, GEO_BOX = 2 };
struct geo_shape {
	enum geo_shape_type type;
	double xy[2];           /* centre: longitude, latitude */
	double conversion;      /* metres per unit of radius/width/height */
	double radius;          /* GEO_CIRCLE, in units */
	double width, height;   /* GEO_BOX, in units */
	double bounds[4];       /* set by geo_cover(): min lon, min lat, max lon, max lat */
};

/* The cells a search reads, in Redis's order: the centre's cell, then
 * north, south, east, west, north-east, north-west, south-east,
 * south-west (left-out neighbours are { 0, 0 }). */
struct geo_cover {
	struct geo_cell cell[9];
};

/* The cell of (lon, lat) at step (1..26) in the given ranges; false (and
 * *out untouched) when the point is outside them or outside the Web
 * Mercator limits. A point on a range's upper end gets the number 2^step
 * on that axis, one past the grid, as in Redis. */
bool geo_encode(const struct geo_range *lon, const struct geo_range *lat, double x, double y,
		unsigned step, struct geo_cell *out);
/* The score of (lon, lat) at full precision (GEOADD's), both valid. */
uint64_t geo_score_of(double lon, double lat);
/* The cell's number shifted to 52 bits: the first score inside it. */
uint64_t geo_cell_score(struct geo_cell c);
/* The point a sorted-set score stands for (the centre of its cell at step
 * 26, clamped to the limits), as Redis decodes any score, geo or not. */
void geo_point_of(double score, double xy[2]);
/* Great-circle distance in metres (haversine on Redis's earth radius). */
double geo_distance(double lon1, double lat1, double lon2, double lat2);
/* The cells covering shape s; fills s->bounds first. */
void geo_cover(struct geo_shape *s, struct geo_cover *out);
/* Is the point of score inside s (geo_cover() filled its bounds)? Sets
 * xy to the point and *dist to its distance from the centre, in metres
 * (*dist untouched when outside). */
bool geo_in_shape(const struct geo_shape *s, double score, double xy[2], double *dist);
/* GEOHASH's 11-character standard geohash of the point of score (buf:
 * 12 bytes, NUL-terminated). */
void geo_hash_string(double score, char buf[12]);

#endif
