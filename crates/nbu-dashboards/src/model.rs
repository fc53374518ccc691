//! The dashboard vocabulary (dashboards, rows, panels, queries, variables) and its
//! rendering to the Grafana JSON model (schemaVersion 39).
//!
//! Everything every dashboard shares is decided here once: the `datasource` and multi-value
//! `site` variables, the links to the other dashboards, the grid layout, the query options of
//! each panel type. It must not know which metrics exist; the boards say that.

use serde_json::{json, Map, Value};

/// Grafana's JSON model version the files target.
pub const SCHEMA_VERSION: u32 = 39;
/// The tag every dashboard carries, so they can be found together in Grafana.
pub const TAG: &str = "nbu-exporter";
/// Grid width of a Grafana dashboard.
const GRID_WIDTH: u32 = 24;

pub struct Dashboard {
    /// Also the file name: `deploy/grafana/<uid>.json`.
    pub uid: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Variables after `datasource` and `site`.
    pub variables: Vec<Variable>,
    pub items: Vec<Item>,
}

pub enum Item {
    Row(&'static str),
    Panel(Panel),
}

/// A query variable: `label_values(<selector>, <label>)`, multi-value with "All".
pub struct Variable {
    pub name: &'static str,
    pub label: &'static str,
    pub selector: String,
    pub value_label: &'static str,
}

impl Variable {
    pub fn definition(&self) -> String {
        format!("label_values({}, {})", self.selector, self.value_label)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Timeseries,
    Stat,
    Table,
    BarGauge,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::Timeseries => "timeseries",
            Kind::Stat => "stat",
            Kind::Table => "table",
            Kind::BarGauge => "bargauge",
        }
    }
}

pub struct Target {
    pub expr: String,
    /// The legend of a series, or the column name of a table value.
    pub legend: String,
}

pub struct Panel {
    pub kind: Kind,
    pub title: &'static str,
    pub description: &'static str,
    pub targets: Vec<Target>,
    unit: &'static str,
    width: u32,
    height: u32,
    min: Option<f64>,
    max: Option<f64>,
    /// (colour, lower bound); the first step has no bound.
    thresholds: Vec<(&'static str, Option<f64>)>,
    /// Value -> (text, colour).
    mappings: Vec<(&'static str, &'static str, &'static str)>,
    stacked: bool,
    /// (field name, unit) where a field's unit differs from the panel's.
    field_units: Vec<(&'static str, &'static str)>,
}

impl Panel {
    fn new(kind: Kind, title: &'static str, description: &'static str) -> Panel {
        let (width, height) = match kind {
            Kind::Stat => (4, 4),
            Kind::Timeseries => (12, 8),
            Kind::Table | Kind::BarGauge => (12, 8),
        };
        Panel {
            kind,
            title,
            description,
            targets: Vec::new(),
            unit: "short",
            width,
            height,
            min: None,
            max: None,
            thresholds: vec![("green", None)],
            mappings: Vec::new(),
            stacked: false,
            field_units: Vec::new(),
        }
    }

    pub fn timeseries(title: &'static str, description: &'static str) -> Panel {
        Panel::new(Kind::Timeseries, title, description)
    }

    pub fn stat(title: &'static str, description: &'static str) -> Panel {
        Panel::new(Kind::Stat, title, description)
    }

    pub fn table(title: &'static str, description: &'static str) -> Panel {
        Panel::new(Kind::Table, title, description)
    }

    pub fn bargauge(title: &'static str, description: &'static str) -> Panel {
        Panel::new(Kind::BarGauge, title, description)
    }

    pub fn query(mut self, expr: impl Into<String>, legend: impl Into<String>) -> Panel {
        self.targets.push(Target {
            expr: expr.into(),
            legend: legend.into(),
        });
        self
    }

    pub fn unit(mut self, unit: &'static str) -> Panel {
        self.unit = unit;
        self
    }

    pub fn size(mut self, width: u32, height: u32) -> Panel {
        self.width = width;
        self.height = height;
        self
    }

    pub fn range(mut self, min: f64, max: f64) -> Panel {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    pub fn min(mut self, min: f64) -> Panel {
        self.min = Some(min);
        self
    }

    /// Colour steps above the base colour, e.g. `[("orange", 0.8), ("red", 0.9)]`.
    pub fn thresholds(mut self, base: &'static str, steps: &[(&'static str, f64)]) -> Panel {
        self.thresholds = std::iter::once((base, None))
            .chain(steps.iter().map(|&(colour, from)| (colour, Some(from))))
            .collect();
        self
    }

    /// `0` shown as `down` in red, `1` as `up` in green (or other words).
    pub fn boolean(mut self, zero: &'static str, one: &'static str) -> Panel {
        self.mappings = vec![("0", zero, "red"), ("1", one, "green")];
        self
    }

    /// The unit of one field (a table column, by its name), where it differs from the panel's.
    pub fn field_unit(mut self, field: &'static str, unit: &'static str) -> Panel {
        self.field_units.push((field, unit));
        self
    }

    pub fn stacked(mut self) -> Panel {
        self.stacked = true;
        self
    }

    fn json(&self, id: u32, grid: Value) -> Value {
        let datasource = datasource_ref();
        let instant = self.kind != Kind::Timeseries;
        let targets: Vec<Value> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut target = json!({
                    "datasource": datasource,
                    "editorMode": "code",
                    "expr": t.expr,
                    "instant": instant,
                    "legendFormat": t.legend,
                    "range": !instant,
                    "refId": ref_id(i),
                });
                if self.kind == Kind::Table {
                    target["format"] = json!("table");
                    target["legendFormat"] = json!("__auto");
                }
                target
            })
            .collect();
        let steps: Vec<Value> = self
            .thresholds
            .iter()
            .map(|(colour, from)| json!({"color": colour, "value": from}))
            .collect();
        let mut defaults = json!({
            "color": {"mode": if self.kind == Kind::Timeseries { "palette-classic" } else { "thresholds" }},
            "mappings": [],
            "thresholds": {"mode": "absolute", "steps": steps},
            "unit": self.unit,
        });
        if let Some(min) = self.min {
            defaults["min"] = json!(min);
        }
        if let Some(max) = self.max {
            defaults["max"] = json!(max);
        }
        if !self.mappings.is_empty() {
            let options: Map<String, Value> = self
                .mappings
                .iter()
                .enumerate()
                .map(|(i, (value, text, colour))| {
                    (
                        value.to_string(),
                        json!({"color": colour, "index": i, "text": text}),
                    )
                })
                .collect();
            defaults["mappings"] = json!([{"type": "value", "options": options}]);
        }
        let overrides: Vec<Value> = self
            .field_units
            .iter()
            .map(|(field, unit)| {
                json!({
                    "matcher": {"id": "byName", "options": field},
                    "properties": [{"id": "unit", "value": unit}],
                })
            })
            .collect();
        let mut panel = json!({
            "datasource": datasource,
            "description": self.description,
            "fieldConfig": {"defaults": defaults, "overrides": overrides},
            "gridPos": grid,
            "id": id,
            "targets": targets,
            "title": self.title,
            "type": self.kind.type_name(),
        });
        match self.kind {
            Kind::Timeseries => {
                panel["fieldConfig"]["defaults"]["custom"] = json!({
                    "drawStyle": "line",
                    "fillOpacity": if self.stacked { 30 } else { 10 },
                    "lineWidth": 1,
                    "showPoints": "never",
                    "spanNulls": false,
                    "stacking": {"group": "A", "mode": if self.stacked { "normal" } else { "none" }},
                });
                panel["options"] = json!({
                    "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": true},
                    "tooltip": {"mode": "multi", "sort": "desc"},
                });
            }
            Kind::Stat => {
                panel["options"] = json!({
                    "colorMode": "background",
                    "graphMode": "none",
                    "justifyMode": "auto",
                    "orientation": "auto",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                    "showPercentChange": false,
                    "textMode": "auto",
                    "wideLayout": true,
                });
            }
            Kind::BarGauge => {
                panel["options"] = json!({
                    "displayMode": "gradient",
                    "minVizHeight": 16,
                    "minVizWidth": 8,
                    "namePlacement": "auto",
                    "orientation": "horizontal",
                    "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                    "showUnfilled": true,
                    "sizing": "auto",
                    "valueMode": "color",
                });
            }
            Kind::Table => {
                panel["options"] = json!({
                    "cellHeight": "sm",
                    "footer": {"countRows": false, "fields": "", "reducer": ["sum"], "show": false},
                    "showHeader": true,
                });
                panel["transformations"] = self.table_transformations();
            }
        }
        panel
    }

    /// Tables show instant values: several queries are merged into one row per label set,
    /// the time and scrape-target columns are hidden and each value column takes its
    /// query's legend as its name (an empty legend hides the column: an info metric's 1).
    fn table_transformations(&self) -> Value {
        let mut out = Vec::new();
        if self.targets.len() > 1 {
            out.push(json!({"id": "merge", "options": {}}));
        }
        let mut rename = Map::new();
        let mut exclude = Map::new();
        for column in ["Time", "__name__", "instance", "job"] {
            exclude.insert(column.to_string(), json!(true));
        }
        for (i, t) in self.targets.iter().enumerate() {
            let column = if self.targets.len() > 1 {
                format!("Value #{}", ref_id(i))
            } else {
                "Value".to_string()
            };
            if t.legend.is_empty() {
                exclude.insert(column, json!(true));
            } else {
                rename.insert(column, json!(t.legend));
            }
        }
        out.push(json!({
            "id": "organize",
            "options": {
                "excludeByName": exclude,
                "indexByName": {},
                "renameByName": rename,
            },
        }));
        Value::Array(out)
    }
}

fn ref_id(i: usize) -> String {
    // 26 queries per panel is far more than any panel here has.
    char::from(b'A' + (i % 26) as u8).to_string()
}

pub fn datasource_ref() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

impl Dashboard {
    /// The file this dashboard is written to under `deploy/grafana/`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.uid)
    }

    /// The Grafana JSON model; `all` is every dashboard, for the links.
    pub fn json(&self, all: &[Dashboard]) -> Value {
        let links: Vec<Value> = all
            .iter()
            .filter(|other| other.uid != self.uid)
            .map(|other| {
                json!({
                    "asDropdown": false,
                    "icon": "dashboard",
                    "includeVars": true,
                    "keepTime": true,
                    "tags": [],
                    "targetBlank": false,
                    "title": other.title,
                    "tooltip": other.description,
                    "type": "link",
                    "url": format!("/d/{}", other.uid),
                })
            })
            .collect();
        let mut variables = vec![
            json!({
                "current": {},
                "hide": 0,
                "includeAll": false,
                "label": "Data source",
                "multi": false,
                "name": "datasource",
                "options": [],
                "query": "prometheus",
                "refresh": 1,
                "regex": "",
                "type": "datasource",
            }),
            query_variable(&site_variable()),
        ];
        variables.extend(self.variables.iter().map(query_variable));
        json!({
            "annotations": {"list": [{
                "builtIn": 1,
                "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                "enable": true,
                "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)",
                "name": "Annotations & Alerts",
                "type": "dashboard",
            }]},
            "description": self.description,
            "editable": true,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": null,
            "links": links,
            "liveNow": false,
            "panels": self.layout(),
            "refresh": "1m",
            "schemaVersion": SCHEMA_VERSION,
            "tags": [TAG, "netbackup"],
            "templating": {"list": variables},
            "time": {"from": "now-24h", "to": "now"},
            "timepicker": {},
            "timezone": "browser",
            "title": self.title,
            "uid": self.uid,
            "version": 1,
            "weekStart": "",
        })
    }

    /// Places rows and panels left to right on the 24-column grid, a row starting a new line.
    fn layout(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let (mut x, mut y, mut line_height) = (0, 0, 0);
        for (index, item) in self.items.iter().enumerate() {
            let id = index as u32 + 1;
            match item {
                Item::Row(title) => {
                    y += line_height;
                    (x, line_height) = (0, 0);
                    out.push(json!({
                        "collapsed": false,
                        "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                        "id": id,
                        "panels": [],
                        "title": title,
                        "type": "row",
                    }));
                    y += 1;
                }
                Item::Panel(panel) => {
                    let width = panel.width.min(GRID_WIDTH);
                    if x + width > GRID_WIDTH {
                        y += line_height;
                        (x, line_height) = (0, 0);
                    }
                    let grid = json!({"h": panel.height, "w": width, "x": x, "y": y});
                    out.push(panel.json(id, grid));
                    x += width;
                    line_height = line_height.max(panel.height);
                }
            }
        }
        out
    }

    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.items.iter().filter_map(|item| match item {
            Item::Panel(p) => Some(p),
            Item::Row(_) => None,
        })
    }
}

/// The multi-value `site` variable every dashboard has.
pub fn site_variable() -> Variable {
    Variable {
        name: "site",
        label: "Site",
        selector: "nbu_up".to_string(),
        value_label: "site",
    }
}

fn query_variable(v: &Variable) -> Value {
    let definition = v.definition();
    json!({
        "current": {},
        "datasource": datasource_ref(),
        "definition": definition,
        "hide": 0,
        "includeAll": true,
        "label": v.label,
        "multi": true,
        "name": v.name,
        "options": [],
        // A plain string: every Grafana version reads it (the structured editor form needs
        // its metric and label split out, and differs between versions).
        "query": definition,
        "refresh": 2,
        "regex": "",
        "skipUrlSync": false,
        "sort": 1,
        "type": "query",
    })
}
