/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * geohash.c — the grid, the cells and the distances of geo sets
 * (geohash.h says what the model is). The expressions below keep the
 * order of operations of redis-server 7.0, since a score, a point on the
 * edge of a search or a distance's fourth decimal depends on it: change
 * one and a member found by Redis may be missed here.
 */
#include <math.h>

#include "geohash.h"

#define DEG_RAD (M_PI / 180.0)          /* degrees to radians */
#define EARTH_RADIUS_M 6372797.560856   /* Redis's earth radius, in metres */
#define MERCATOR_MAX 20037726.37        /* half the earth's circumference in Web Mercator */

static const struct geo_range lon_limits = { GEO_LONG_MIN, GEO_LONG_MAX };
static const struct geo_range lat_limits = { GEO_LAT_MIN, GEO_LAT_MAX };

/* Degrees to radians and back, as Redis converts (by M_PI / 180). */
static double deg_rad(double deg) { return deg * DEG_RAD; }
static double rad_deg(double rad) { return rad / DEG_RAD; }

/* The 32 bits of v at the even bit positions of the result (bit i at 2i):
 * halves, quarters... moved apart by masked shifts. */
static uint64_t spread(uint32_t v)
{
	uint64_t x = v;

	x = (x | x << 16) & 0x0000FFFF0000FFFFULL;
	x = (x | x << 8) & 0x00FF00FF00FF00FFULL;
	x = (x | x << 4) & 0x0F0F0F0F0F0F0F0FULL;
	x = (x | x << 2) & 0x3333333333333333ULL;
	x = (x | x << 1) & 0x5555555555555555ULL;
	return x;
}

/* The even bits of v packed into 32 (bit 2i at i): spread's inverse. */
static uint32_t gather(uint64_t v)
{
	uint64_t x = v & 0x5555555555555555ULL;

	x = (x | x >> 1) & 0x3333333333333333ULL;
	x = (x | x >> 2) & 0x0F0F0F0F0F0F0F0FULL;
	x = (x | x >> 4) & 0x00FF00FF00FF00FFULL;
	x = (x | x >> 8) & 0x0000FFFF0000FFFFULL;
	x = (x | x >> 16) & 0x00000000FFFFFFFFULL;
	return (uint32_t)x;
}

/* A cell's latitude number (even bits) and longitude number (odd bits). */
static uint32_t cell_lat(struct geo_cell c) { return gather(c.bits); }
static uint32_t cell_lon(struct geo_cell c) { return gather(c.bits >> 1); }

/* The cell of step `step` with the given numbers. */
static struct geo_cell cell_make(uint32_t lat, uint32_t lon, unsigned step)
{
	return (struct geo_cell){ spread(lat) | spread(lon) << 1, step };
}

bool geo_encode(const struct geo_range *lon, const struct geo_range *lat, double x, double y,
		unsigned step, struct geo_cell *out)
{
	double lat_off, lon_off;

	if (step == 0 || step > GEO_STEP_MAX)
		return false;
	if (x > GEO_LONG_MAX || x < GEO_LONG_MIN || y > GEO_LAT_MAX || y < GEO_LAT_MIN)
		return false;
	if (y < lat->min || y > lat->max || x < lon->min || x > lon->max)
		return false;
	lat_off = (y - lat->min) / (lat->max - lat->min);
	lon_off = (x - lon->min) / (lon->max - lon->min);
	lat_off *= (double)(1ULL << step);
	lon_off *= (double)(1ULL << step);
	/* a point on the upper limit gets number 2^step: one past the grid,
	 * as in Redis (its score is then above 2^52) */
	*out = cell_make((uint32_t)lat_off, (uint32_t)lon_off, step);
	return true;
}

uint64_t geo_cell_score(struct geo_cell c)
{
	return c.bits << (52 - c.step * 2);
}

uint64_t geo_score_of(double lon, double lat)
{
	struct geo_cell c = { 0, 0 };

	geo_encode(&lon_limits, &lat_limits, lon, lat, GEO_STEP_MAX, &c);
	return geo_cell_score(c);
}

/* The rectangle of cell c in the given ranges. */
static struct geo_area cell_area(const struct geo_range *lon, const struct geo_range *lat,
				 struct geo_cell c)
{
	struct geo_area a;
	double lat_scale = lat->max - lat->min, lon_scale = lon->max - lon->min;
	uint32_t ilat = cell_lat(c), ilon = cell_lon(c);
	double cells = (double)(1ULL << c.step);

	/* (n + 1) wraps in 32 bits, as Redis's does, for scores no GEOADD made */
	a.lat.min = lat->min + (ilat * 1.0 / cells) * lat_scale;
	a.lat.max = lat->min + ((uint32_t)(ilat + 1) * 1.0 / cells) * lat_scale;
	a.lon.min = lon->min + (ilon * 1.0 / cells) * lon_scale;
	a.lon.max = lon->min + ((uint32_t)(ilon + 1) * 1.0 / cells) * lon_scale;
	return a;
}

/* Clamp v into [lo, hi]. */
static double clamp(double v, double lo, double hi)
{
	return v > hi ? hi : v < lo ? lo : v;
}

/*
 * The integer an x86-64 conversion of score to uint64_t gives, which is
 * what Redis does to any score it decodes (C leaves scores outside
 * [0, 2^64) undefined): below 2^63 the signed truncation, with the
 * "indefinite" 2^63 for what does not fit; from 2^63 on, the truncation of
 * score - 2^63 with bit 63 flipped (0 from 2^64 on).
 */
static uint64_t score_bits(double score)
{
	const double two63 = 9223372036854775808.0;

	if (score >= two63) {
		double rest = score - two63;

		return rest < two63 ? (uint64_t)rest ^ (1ULL << 63) : 0;
	}
	if (score > -two63)
		return (uint64_t)(int64_t)score;
	return 1ULL << 63;
}

void geo_point_of(double score, double xy[2])
{
	struct geo_cell c = { score_bits(score), GEO_STEP_MAX };
	struct geo_area a = cell_area(&lon_limits, &lat_limits, c);

	xy[0] = clamp((a.lon.min + a.lon.max) / 2, GEO_LONG_MIN, GEO_LONG_MAX);
	xy[1] = clamp((a.lat.min + a.lat.max) / 2, GEO_LAT_MIN, GEO_LAT_MAX);
}

/* Distance along a meridian between two latitudes, in metres. */
static double lat_distance(double lat1, double lat2)
{
	return EARTH_RADIUS_M * fabs(deg_rad(lat2) - deg_rad(lat1));
}

double geo_distance(double lon1, double lat1, double lon2, double lat2)
{
	double lon1r = deg_rad(lon1), lon2r = deg_rad(lon2), lat1r, lat2r, u, v, a;

	v = sin((lon2r - lon1r) / 2);
	if (v == 0.0)	/* same meridian: the haversine reduces to this, exactly */
		return lat_distance(lat1, lat2);
	lat1r = deg_rad(lat1);
	lat2r = deg_rad(lat2);
	u = sin((lat2r - lat1r) / 2);
	a = u * u + cos(lat1r) * cos(lat2r) * v * v;
	return 2.0 * EARTH_RADIUS_M * asin(sqrt(a));
}

/* The grid step for a search of radius range_m (metres) around latitude
 * lat: the finest whose cells are about twice as wide as the radius,
 * coarser near the poles. */
static unsigned steps_for(double range_m, double lat)
{
	int step = 1;

	if (range_m == 0)
		return GEO_STEP_MAX;
	while (range_m < MERCATOR_MAX) {
		range_m *= 2;
		step++;
	}
	step -= 2;
	if (lat > 66 || lat < -66) {
		step--;
		if (lat > 80 || lat < -80)
			step--;
	}
	if (step < 1)
		step = 1;
	if (step > GEO_STEP_MAX)
		step = GEO_STEP_MAX;
	return (unsigned)step;
}

/* s->bounds: the box around s in degrees. Longitudes are spread where
 * the shape is widest: its edge nearer the pole (top in the north, bottom
 * in the south). */
static void shape_bounds(struct geo_shape *s)
{
	bool circle = s->type == GEO_CIRCLE;
	double lon = s->xy[0], lat = s->xy[1];
	double height = s->conversion * (circle ? s->radius : s->height / 2);
	double width = s->conversion * (circle ? s->radius : s->width / 2);
	double lat_delta = rad_deg(height / EARTH_RADIUS_M);
	double lon_top = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat + lat_delta)));
	double lon_bottom = rad_deg(width / EARTH_RADIUS_M / cos(deg_rad(lat - lat_delta)));
	bool south = lat < 0;

	s->bounds[0] = south ? lon - lon_bottom : lon - lon_top;
	s->bounds[2] = south ? lon + lon_bottom : lon + lon_top;
	s->bounds[1] = lat - lat_delta;
	s->bounds[3] = lat + lat_delta;
}

/* Number n of one axis moved by d (-1, 0, 1) cells at step, wrapping
 * around the grid. An axis that does not move keeps its number as it is,
 * even one past the grid (a centre on the upper limit), as Redis's does. */
static uint32_t axis_move(uint32_t n, int d, unsigned step)
{
	if (d == 0)
		return n;
	return (n + (uint32_t)d) & (uint32_t)((1ULL << step) - 1);
}

/* Cell c moved by dlon, dlat (-1, 0, 1) cells. */
static struct geo_cell cell_move(struct geo_cell c, int dlon, int dlat)
{
	return cell_make(axis_move(cell_lat(c), dlat, c.step),
			 axis_move(cell_lon(c), dlon, c.step), c.step);
}

/* The centre's cell of (lon, lat) at step and its eight neighbours, in
 * the order of struct geo_cover. */
static void cover_at(double lon, double lat, unsigned step, struct geo_cover *out)
{
	static const int moves[9][2] = {	/* { dlon, dlat } */
		{ 0, 0 }, { 0, 1 }, { 0, -1 }, { 1, 0 }, { -1, 0 },
		{ 1, 1 }, { -1, 1 }, { 1, -1 }, { -1, -1 },
	};
	struct geo_cell centre = { 0, 0 };

	geo_encode(&lon_limits, &lat_limits, lon, lat, step, &centre);
	for (int i = 0; i < 9; i++)
		out->cell[i] = cell_move(centre, moves[i][0], moves[i][1]);
}

enum { C_CENTRE, C_N, C_S, C_E, C_W, C_NE, C_NW, C_SE, C_SW };

/* Do the neighbours at step reach the bounds b? (Else a coarser step is
 * needed: the shape pokes out of the nine cells.) */
static bool cover_reaches(const struct geo_cover *cv, const double b[4])
{
	struct geo_area n = cell_area(&lon_limits, &lat_limits, cv->cell[C_N]);
	struct geo_area s = cell_area(&lon_limits, &lat_limits, cv->cell[C_S]);
	struct geo_area e = cell_area(&lon_limits, &lat_limits, cv->cell[C_E]);
	struct geo_area w = cell_area(&lon_limits, &lat_limits, cv->cell[C_W]);

	return !(n.lat.max < b[3] || s.lat.min > b[1] || e.lon.max < b[2] || w.lon.min > b[0]);
}

/* Leave out the neighbours on a side where the centre's cell alone already
 * goes past the bounds b. */
static void cover_trim(struct geo_cover *cv, const double b[4])
{
	struct geo_area a = cell_area(&lon_limits, &lat_limits, cv->cell[C_CENTRE]);
	const struct geo_cell none = { 0, 0 };

	if (a.lat.min < b[1])
		cv->cell[C_S] = cv->cell[C_SW] = cv->cell[C_SE] = none;
	if (a.lat.max > b[3])
		cv->cell[C_N] = cv->cell[C_NE] = cv->cell[C_NW] = none;
	if (a.lon.min < b[0])
		cv->cell[C_W] = cv->cell[C_SW] = cv->cell[C_NW] = none;
	if (a.lon.max > b[2])
		cv->cell[C_E] = cv->cell[C_SE] = cv->cell[C_NE] = none;
}

void geo_cover(struct geo_shape *s, struct geo_cover *out)
{
	double radius_m;
	unsigned step;

	shape_bounds(s);
	/* a box is covered as the circle through its corners */
	radius_m = s->type == GEO_CIRCLE ? s->radius
		   : sqrt((s->width / 2) * (s->width / 2) + (s->height / 2) * (s->height / 2));
	radius_m *= s->conversion;
	step = steps_for(radius_m, s->xy[1]);
	cover_at(s->xy[0], s->xy[1], step, out);
	if (step > 1 && !cover_reaches(out, s->bounds)) {
		step--;
		cover_at(s->xy[0], s->xy[1], step, out);
	}
	if (step >= 2)
		cover_trim(out, s->bounds);
}

/* Is (x, y) inside box s, by the distances along the meridian and along
 * the point's parallel? */
static bool in_box(const struct geo_shape *s, double x, double y, double *dist)
{
	double width_m = s->width * s->conversion, height_m = s->height * s->conversion;

	if (lat_distance(y, s->xy[1]) > height_m / 2)
		return false;
	if (geo_distance(x, y, s->xy[0], y) > width_m / 2)
		return false;
	*dist = geo_distance(s->xy[0], s->xy[1], x, y);
	return true;
}

bool geo_in_shape(const struct geo_shape *s, double score, double xy[2], double *dist)
{
	double d;

	geo_point_of(score, xy);
	if (s->type == GEO_BOX)
		return in_box(s, xy[0], xy[1], dist);
	d = geo_distance(s->xy[0], s->xy[1], xy[0], xy[1]);
	if (d > s->radius * s->conversion)
		return false;
	*dist = d;
	return true;
}

void geo_hash_string(double score, char buf[12])
{
	static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
	/* the standard geohash's latitudes are -90..90 */
	static const struct geo_range lat_std = { -90, 90 };
	struct geo_cell c = { 0, 0 };
	double xy[2];

	geo_point_of(score, xy);
	geo_encode(&lon_limits, &lat_std, xy[0], xy[1], GEO_STEP_MAX, &c);
	for (int i = 0; i < 10; i++)
		buf[i] = alphabet[(c.bits >> (52 - (i + 1) * 5)) & 0x1f];
	buf[10] = '0';	/* 52 bits make 10.4 characters: the 11th is 0 */
	buf[11] = '\0';
}
