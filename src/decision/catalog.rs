//! The tenant's groups and applications, by name and by id, so rows can
//! name them either way.

use std::collections::HashMap;

use crate::api::{ApiError, Client};
use crate::model::TargetKind;

pub use crate::model::Target;

/// Groups or applications, looked up by exact id or by name ignoring case.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    by_id: HashMap<String, Target>,
    by_name: HashMap<String, String>,
}

impl Directory {
    pub fn new(targets: impl IntoIterator<Item = Target>) -> Self {
        let mut directory = Directory::default();
        for target in targets {
            directory.insert(target);
        }
        directory
    }

    pub fn insert(&mut self, target: Target) {
        self.by_name
            .insert(target.name.to_lowercase(), target.id.clone());
        self.by_id.insert(target.id.clone(), target);
    }

    /// The target a cell names, by id first, then by name.
    pub fn resolve(&self, name_or_id: &str) -> Option<&Target> {
        self.by_id.get(name_or_id).or_else(|| {
            self.by_name
                .get(&name_or_id.to_lowercase())
                .and_then(|id| self.by_id.get(id))
        })
    }

    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.by_id.keys()
    }

    /// Every target, cloned.
    pub fn targets(&self) -> Vec<Target> {
        self.by_id.values().cloned().collect()
    }
}

/// Both directories of a tenant.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub groups: Directory,
    pub applications: Directory,
}

impl Catalog {
    /// Lists every group and application (a few calls).
    pub async fn load(client: &Client) -> Result<Self, ApiError> {
        let (groups, applications) = futures::try_join!(
            client.targets(TargetKind::Group),
            client.targets(TargetKind::Application)
        )?;
        Ok(Catalog {
            groups: Directory::new(groups),
            applications: Directory::new(applications),
        })
    }

    /// The directory of one kind.
    pub fn of(&self, kind: TargetKind) -> &Directory {
        match kind {
            TargetKind::Group => &self.groups,
            TargetKind::Application => &self.applications,
        }
    }
}
